import Common
import Foundation
import JSONIO

/// `manifest.json`: what a batch read (script, project, model, each line's inputs with their
/// SHA-256), the settings, and what it wrote (each output with its SHA-256 and size).
///
/// It is byte-identical for the same inputs whatever `-j` is, after a no-op re-run, after a
/// killed run is re-run, and after `merge` of shards: it describes the outputs, not the run.
/// Facts about one run (wall times, which lines were skipped as unchanged) go to
/// `timings.json`, which the manifest names in its `timings` field.
public struct Manifest: Sendable {
    public static let formatName = "emobake-manifest-1"
    public static let timingsFile = "timings.json"

    public var generator: String
    public var scriptName: String
    public var scriptSHA256: String
    /// The number of lines in the whole script (a shard holds fewer).
    public var scriptLineCount: Int
    /// The script's folder relative to the output folder, so that the report can link audio.
    public var scriptFolder: String
    public var projectName: String?
    public var projectSHA256: String?
    public var model: ModelDescription?
    /// The project's settings as written (ordered keys).
    public var settings: JSONValue
    /// Set in a shard's manifest (`shards/I-of-N/manifest.json`), nil in a whole batch's.
    public var shard: Shard?
    public var lines: [ManifestLine]
    public var timelines: [ManifestTimeline]

    public var failedCount: Int { lines.filter { $0.status == .failed }.count }

    public func jsonData() throws -> Data {
        var root = JSONObject()
        root["format"] = .string(Self.formatName)
        root["generator"] = .string(generator)
        root["script"] = ["name": .string(scriptName), "sha256": .string(scriptSHA256), "lines": .integer(Int64(scriptLineCount)),
            "folder": .string(scriptFolder),
        ]
        root["project"] = projectName.map { ["name": .string($0), "sha256": .string(projectSHA256 ?? "")] } ?? .null
        root["model"] = model.map {
            var object = JSONObject([("name", .string($0.name)), ("identifier", .string($0.identifier)), ("sha256", .string($0.sha256))])
            if let mode = $0.mode { object["mode"] = .string(mode) }
            return .object(object)
        } ?? .null
        root["settings"] = settings
        if let shard { root["shard"] = ["index": .integer(Int64(shard.index)), "count": .integer(Int64(shard.count))] }
        root["summary"] = [
            "lines": .integer(Int64(lines.count)), "ok": .integer(Int64(lines.count - failedCount)),
            "failed": .integer(Int64(failedCount)),
        ]
        root["lines"] = .array(lines.map(\.json))
        root["timelines"] = .array(timelines.map(\.json))
        root["timings"] = .string(Self.timingsFile)
        return try JSONCodec.serializedData(.object(root))
    }

    public static func read(_ url: URL) throws -> Manifest {
        let root = JSONField(try JSONCodec.parse(contentsOf: url), source: url.path)
        guard try root.required("format").string() == formatName else {
            throw root.fail("not an EmoBake manifest of this version", code: "manifest.format")
        }
        let script = try root.required("script")
        let project = try root.optional("project")
        let model = try root.optional("model")
        var shard: Shard?
        if let field = try root.optional("shard") {
            shard = try Shard(index: try field.required("index").int(), count: try field.required("count").int())
        }
        return Manifest(
            generator: try root.required("generator").string(), scriptName: try script.required("name").string(),
            scriptSHA256: try script.required("sha256").string(), scriptLineCount: try script.required("lines").int(),
            scriptFolder: try script.required("folder").string(),
            projectName: try project?.required("name").string(), projectSHA256: try project?.required("sha256").string(),
            model: try model.map {
                ModelDescription(
                    name: try $0.required("name").string(), identifier: try $0.required("identifier").string(),
                    sha256: try $0.required("sha256").string(), mode: try $0.optional("mode")?.string())
            }, settings: try root.required("settings").value, shard: shard,
            lines: try root.required("lines").array().map(ManifestLine.init),
            timelines: try root.required("timelines").array().map(ManifestTimeline.init))
    }
}

/// `report.csv`: one row per line (id, character, language, audio, status, message,
/// duration, dominant emotion), RFC 4180 quoting, LF line ends.
public enum ReportCSV {
    public static let header = ["id", "character", "language", "audio", "status", "message", "duration", "dominant_emotion"]

    public static func render(_ lines: [ManifestLine]) -> Data {
        var text = header.joined(separator: ",") + "\n"
        for line in lines {
            let fields = [
                line.id, line.character, line.language ?? "", line.audio ?? line.track ?? "", line.status.rawValue,
                line.message ?? "", line.duration.map { DecimalFormat.fixed($0, 3) } ?? "", line.dominantEmotion ?? "",
            ]
            text += fields.map(quote).joined(separator: ",") + "\n"
        }
        return Data(text.utf8)
    }

    static func quote(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) || field.hasPrefix(" ") || field.hasSuffix(" ")
        else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
