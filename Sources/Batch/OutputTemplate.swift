import Foundation

/// Where a line's files go inside the output folder, for example `{language}/{character}/{id}`.
/// The last component is the files' base name (formats add their extension).
///
/// Variables: `{id}`, `{character}`, `{language}`, `{scene}`, `{script}` (the script's file
/// name without extension). An expanded path must stay inside the output folder: it may not
/// be absolute, and no component may be empty, `.` or `..`; variable values may not contain
/// `/` or `\`. A line that breaks a rule fails with a message saying which.
public struct OutputTemplate: Sendable, Equatable, CustomStringConvertible {
    public static let variables = ["id", "character", "language", "scene", "script"]

    enum Piece: Equatable {
        case literal(String)
        case variable(String)
    }

    public let text: String
    let pieces: [Piece]

    /// Parses a template; unknown variables and unbalanced braces are errors for the whole run.
    public init(_ text: String) throws {
        self.text = text
        var pieces: [Piece] = []
        var literal = ""
        var rest = Substring(text)
        while let open = rest.firstIndex(where: { $0 == "{" || $0 == "}" }) {
            guard rest[open] == "{" else {
                throw BatchError("template.syntax", "output template \"\(text)\": \"}\" without \"{\"")
            }
            literal += rest[..<open]
            guard let close = rest[open...].firstIndex(of: "}") else {
                throw BatchError("template.syntax", "output template \"\(text)\": \"{\" is never closed")
            }
            let name = String(rest[rest.index(after: open)..<close])
            guard Self.variables.contains(name) else {
                throw BatchError(
                    "template.variable",
                    "output template \"\(text)\": unknown variable {\(name)} (use \(Self.variables.map { "{\($0)}" }.joined(separator: ", ")))")
            }
            if !literal.isEmpty { pieces.append(.literal(literal)) }
            literal = ""
            pieces.append(.variable(name))
            rest = rest[rest.index(after: close)...]
        }
        literal += rest
        if !literal.isEmpty { pieces.append(.literal(literal)) }
        guard pieces.contains(.variable("id")) else {
            throw BatchError("template.id", "output template \"\(text)\": must contain {id} so that every line gets its own files")
        }
        self.pieces = pieces
    }

    public var description: String { text }

    /// The relative output path (without extension) for the given variable values.
    public func expand(_ values: [String: String]) throws -> String {
        var path = ""
        for piece in pieces {
            switch piece {
            case .literal(let text): path += text
            case .variable(let name):
                guard let value = values[name], !value.isEmpty else {
                    throw BatchError("path.variable", "output template \"\(text)\": the line has no \(name) for {\(name)}")
                }
                if let problem = OutputPath.problem(inName: value) {
                    throw BatchError("path.escape", "output template \"\(text)\": \(name) \"\(value)\" \(problem)")
                }
                path += value
            }
        }
        try OutputPath.check(path, what: "output path \"\(path)\" (template \"\(text)\")")
        return path
    }
}

/// The rules that keep relative output paths inside the output folder.
public enum OutputPath {
    /// Base names at the top of the output folder that would collide with the batch's own
    /// files (`manifest.json`, `report.csv`, `report.html`, `timings.json`).
    public static let reservedBaseNames: Set<String> = ["manifest", "report", "timings"]
    /// Top-level folders the batch writes itself.
    public static let reservedFolders: Set<String> = ["shards", "timelines"]

    /// Why a single name (an id, a character, one path component) cannot be used, or nil.
    public static func problem(inName name: String) -> String? {
        if name == "." || name == ".." { return "is \"\(name)\", which would leave its folder" }
        if name.contains("/") || name.contains("\\") { return "contains a path separator" }
        if name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) { return "contains a control character" }
        if name.hasPrefix(".emobake") { return "starts with \".emobake\", which is reserved" }
        if name.utf8.count > 200 { return "is longer than 200 bytes" }
        return nil
    }

    /// Throws unless `path` is relative, and every component is a usable name.
    public static func check(_ path: String, what: String, allowReserved: Bool = false) throws {
        if path.hasPrefix("/") || path.hasPrefix("~") || path.hasPrefix("\\") {
            throw BatchError("path.escape", "\(what) is absolute: outputs must stay inside the output folder")
        }
        let components = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        for component in components {
            if component.isEmpty { throw BatchError("path.empty", "\(what) has an empty folder name") }
            if component == ".." {
                throw BatchError("path.escape", "\(what) contains \"..\": outputs must stay inside the output folder")
            }
            if let problem = problem(inName: component) {
                throw BatchError("path.escape", "\(what): \"\(component)\" \(problem)")
            }
        }
        guard !allowReserved else { return }
        let first = components[0]
        if components.count == 1, reservedBaseNames.contains(first) {
            throw BatchError("path.reserved", "\(what): \"\(first)\" is the name of the batch's own report files")
        }
        if components.count > 1, reservedFolders.contains(first) {
            throw BatchError("path.reserved", "\(what) starts with \"\(first)/\", a folder the batch uses for its own files")
        }
    }
}
