import Common
import EmotionCore
import Foundation
import JSONIO

/// One file a line (or a timeline) produced, as listed in records and manifests.
public struct OutputFile: Sendable, Equatable {
    /// Relative to the output folder.
    public var path: String
    public var sha256: String
    public var bytes: Int

    public init(path: String, sha256: String, bytes: Int) {
        self.path = path
        self.sha256 = sha256
        self.bytes = bytes
    }

    var json: JSONValue { ["path": .string(path), "sha256": .string(sha256), "bytes": .integer(Int64(bytes))] }

    init(_ field: JSONField) throws {
        path = try field.required("path").string()
        sha256 = try field.required("sha256").string()
        bytes = try field.required("bytes").int()
    }
}

/// What a baked line left behind: the cache record, written to
/// `.emobake/lines/<sha256 of the output path>.json` after all its outputs. A line is skipped
/// when its record's key equals the key of the current inputs and every output listed is
/// there with the recorded hash. The record also carries the final emotion track (after the
/// hint prior), so that reports, timelines and `merge` never need the model again.
public struct LineRecord: Sendable, Equatable {
    public static let formatName = "emobake-line-record-1"

    public var key: String
    public var id: String
    public var outputs: [OutputFile]
    /// Seconds.
    public var duration: Double
    public var dominantEmotion: String
    public var track: EmotionTrack
    /// The input files (audio, track) as hashed: path -> (SHA-256, `stat` signature).
    var inputs: [String: (sha256: String, signature: String)]
    /// Output path -> `stat` signature right after writing.
    var outputSignatures: [String: String]

    public init(key: String, id: String, outputs: [OutputFile], duration: Double, dominantEmotion: String, track: EmotionTrack) {
        self.key = key
        self.id = id
        self.outputs = outputs
        self.duration = duration
        self.dominantEmotion = dominantEmotion
        self.track = track
        self.inputs = [:]
        self.outputSignatures = [:]
    }

    public static func == (lhs: LineRecord, rhs: LineRecord) -> Bool {
        lhs.key == rhs.key && lhs.id == rhs.id && lhs.outputs == rhs.outputs && lhs.duration == rhs.duration
            && lhs.dominantEmotion == rhs.dominantEmotion && lhs.track == rhs.track
    }

    /// Numbers are written in their shortest exact form, so a record read back equals the
    /// one written, bit for bit.
    public func jsonData() throws -> Data {
        let value: JSONValue = [
            "format": .string(Self.formatName),
            "key": .string(key),
            "id": .string(id),
            "outputs": .array(outputs.map(\.json)),
            "duration": .number(duration),
            "dominantEmotion": .string(dominantEmotion),
            "track": [
                "emotions": .array(track.emotions.map { .string($0) }),
                "times": .array(track.times.map { .number($0) }),
                "alpha": .array(track.alpha.map { .number($0) }),
                "source": track.source.map { .string($0) } ?? .null,
                "model": track.model.map { .string($0) } ?? .null,
            ],
            "inputs": .array(
                inputs.keys.sorted().map { ["path": .string($0), "sha256": .string(inputs[$0]!.sha256), "stat": .string(inputs[$0]!.signature)] }),
            "outputStats": .object(JSONObject(outputSignatures.keys.sorted().map { (key: $0, value: .string(outputSignatures[$0]!)) })),
        ]
        return try JSONCodec.serializedData(value, style: .compact)
    }

    public static func read(_ url: URL) throws -> LineRecord {
        let root = JSONField(try JSONCodec.parse(contentsOf: url), source: url.path)
        guard try root.required("format").string() == formatName else {
            throw root.fail("not a line record of this version", code: "record.format")
        }
        let trackField = try root.required("track")
        let emotions = try trackField.required("emotions").strings()
        let times = try trackField.required("times").doubles()
        let alpha = try trackField.required("alpha").doubles()
        guard alpha.count == times.count * emotions.count else { throw trackField.fail("alpha has the wrong size", code: "record.track") }
        let track = EmotionTrack(
            emotions: emotions, times: times, alpha: alpha, source: try trackField.optional("source")?.string(),
            model: try trackField.optional("model")?.string())
        var record = LineRecord(
            key: try root.required("key").string(), id: try root.required("id").string(),
            outputs: try root.required("outputs").array().map(OutputFile.init), duration: try root.required("duration").double(),
            dominantEmotion: try root.required("dominantEmotion").string(), track: track)
        for input in try root.optional("inputs")?.array() ?? [] {
            record.inputs[try input.required("path").string()] = (try input.required("sha256").string(), try input.required("stat").string())
        }
        for (path, signature) in try root.optional("outputStats")?.object() ?? [] {
            record.outputSignatures[path] = try signature.string()
        }
        return record
    }
}

/// The cache folder `.emobake/` inside the output folder.
public struct BakeCache: Sendable {
    public static let folderName = ".emobake"
    public let output: OutputFolder

    public init(output: OutputFolder) { self.output = output }

    /// The record's path relative to the output folder.
    public func recordPath(forOutputBase outputBase: String) -> String {
        "\(Self.folderName)/lines/\(SHA256.hex(of: outputBase)).json"
    }

    /// The record of a line, nil when there is none or it cannot be read (it is then rebaked).
    public func record(forOutputBase outputBase: String) -> LineRecord? {
        let url = output.url.appendingPathComponent(recordPath(forOutputBase: outputBase))
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        return try? LineRecord.read(url)
    }

    public func write(_ record: LineRecord, forOutputBase outputBase: String) throws {
        let url = try output.file(recordPath(forOutputBase: outputBase))
        try AtomicFile.write(try record.jsonData(), to: url)
    }

    /// Whether every output of a record is in place with the recorded hash. A file whose
    /// `stat` signature is the one recorded after writing it is not read again.
    public func outputsIntact(_ record: LineRecord) -> Bool {
        for file in record.outputs {
            let url = output.url.appendingPathComponent(file.path)
            guard let signature = FileSignature(url) else { return false }
            if record.outputSignatures[file.path] == signature.text { continue }
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: url.path),
                (attributes[.size] as? NSNumber)?.intValue == file.bytes,
                (try? SHA256.hex(ofFileAt: url)) == file.sha256
            else { return false }
        }
        return true
    }

    /// The cache key of a line: SHA-256 over everything that shapes its outputs.
    public static func key(
        toolVersion: String, inputKind: String, inputSHA256: String, outputBase: String, hint: String?,
        hintStrength: Double, fingerprint: String
    ) -> String {
        let text = [
            "emobake-cache-key-1",
            "tool \(toolVersion)",
            "input \(inputKind) \(inputSHA256)",
            "output \(outputBase)",
            "hint \(hint ?? "-") \(DecimalFormat.trimmed(hintStrength, 9))",
            "settings \(fingerprint)",
        ].joined(separator: "\n")
        return SHA256.hex(of: text)
    }
}
