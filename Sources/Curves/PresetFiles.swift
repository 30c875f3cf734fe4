import Foundation
import JSONIO

/// Where preset files live and how a name or a path on the command line becomes one.
///
/// A shipped preset is `<presets>/<folder>/<name>.json`; anything containing a `/` or
/// ending in `.json` is read as a file path instead, so a user's preset works exactly like
/// a shipped one.
enum PresetFiles {
    /// `rigs` or `smoothing`, and the word used in messages.
    struct Kind {
        let folder: String
        let noun: String
        let codePrefix: String

        static let rig = Kind(folder: "rigs", noun: "rig preset", codePrefix: "rig")
        static let smoothing = Kind(folder: "smoothing", noun: "smoothing preset", codePrefix: "smoothing")
    }

    static func isPath(_ nameOrPath: String) -> Bool {
        nameOrPath.contains("/") || nameOrPath.lowercased().hasSuffix(".json")
    }

    /// The sorted names of the `.json` files in `<presets>/<folder>`.
    static func names(_ kind: Kind, presetsDirectory: URL) throws -> [String] {
        let folder = presetsDirectory.appendingPathComponent(kind.folder)
        let entries: [String]
        do {
            entries = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        } catch {
            throw CurvesError("\(kind.codePrefix).folderMissing", "\(folder.path): cannot list \(kind.noun)s (no such folder)")
        }
        return entries.filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }.map { String($0.dropLast(5)) }.sorted()
    }

    /// The file a name or path refers to; unknown names list the available ones.
    static func resolve(_ nameOrPath: String, _ kind: Kind, presetsDirectory: URL) throws -> URL {
        let trimmed = nameOrPath.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else {
            throw CurvesError("\(kind.codePrefix).emptyName", "no \(kind.noun) given: use a name or the path of a .json file")
        }
        if isPath(trimmed) {
            let url = URL(fileURLWithPath: trimmed)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue else {
                throw CurvesError("\(kind.codePrefix).missing", "\(trimmed): no such \(kind.noun) file")
            }
            return url
        }
        let url = presetsDirectory.appendingPathComponent(kind.folder).appendingPathComponent(trimmed + ".json")
        if FileManager.default.fileExists(atPath: url.path) { return url }
        let available = (try? names(kind, presetsDirectory: presetsDirectory)) ?? []
        let choices = available.isEmpty ? "none are installed" : "choose from \(available.joined(separator: ", "))"
        throw CurvesError(
            "\(kind.codePrefix).unknown",
            "unknown \(kind.noun) \"\(trimmed)\": \(choices), or give the path of a .json file")
    }

    /// Parses a preset file, turning JSON syntax and field errors into CurvesErrors that keep
    /// their file-and-field message.
    static func parse<T>(_ url: URL, _ kind: Kind, _ build: (JSONField) throws -> T) throws -> T {
        do {
            let root = try JSONCodec.parse(contentsOf: url)
            return try build(JSONField(root, source: url.path))
        } catch let error as JSONError {
            let code: String
            if error.code.hasPrefix(kind.codePrefix + ".") {
                code = error.code
            } else if ["json.syntax", "json.empty", "json.read", "json.tooLarge"].contains(error.code) {
                code = "\(kind.codePrefix).json"
            } else {
                code = "\(kind.codePrefix).field"
            }
            throw CurvesError(code, error.message)
        }
    }
}

extension JSONField {
    /// Refuses keys outside `allowed`, so that a misspelt optional field is an error rather
    /// than a silently ignored default.
    func requireOnlyKeys(_ allowed: [String]) throws {
        for (key, field) in try object() where !allowed.contains(key) {
            throw field.fail("unknown field (expected one of: \(allowed.joined(separator: ", ")))")
        }
    }

    /// A non-empty string without leading or trailing spaces.
    func name() throws -> String {
        let text = try string()
        guard !text.isEmpty else { throw fail("must not be empty") }
        guard text == text.trimmingCharacters(in: .whitespacesAndNewlines) else {
            throw fail("\"\(text)\" has leading or trailing spaces")
        }
        return text
    }
}
