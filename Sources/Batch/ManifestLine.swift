import Common
import Foundation
import JSONIO

/// Everything the manifest and the reports say about one line. Built from a run's result or
/// read back from a shard's manifest, so that `merge` writes the same bytes as one run.
public struct ManifestLine: Sendable, Equatable {
    public enum Status: String, Sendable { case ok, failed }

    /// Position in the script (0-based).
    public var index: Int
    public var id: String
    public var character: String
    public var language: String?
    public var scene: String?
    public var start: Double?
    public var text: String?
    public var emotionHint: String?
    public var audio: String?
    public var audioSHA256: String?
    public var track: String?
    public var trackSHA256: String?
    /// Relative output path without extension; nil when the line failed before it was known.
    public var outputBase: String?
    /// The cache key (nil for failed lines).
    public var key: String?
    public var status: Status
    /// An error code (`audio.missing`, `path.escape`, ...) for failed lines.
    public var code: String?
    public var message: String?
    public var duration: Double?
    public var dominantEmotion: String?
    public var outputs: [OutputFile]

    var json: JSONValue {
        func text(_ value: String?) -> JSONValue { value.map { .string($0) } ?? .null }
        return [
            "index": .integer(Int64(index)),
            "id": .string(id),
            "character": .string(character),
            "language": text(language),
            "scene": text(scene),
            "start": start.map { .decimal($0, places: 3) } ?? .null,
            "text": text(self.text),
            "emotionHint": text(emotionHint),
            "input": [
                "audio": text(audio), "audioSha256": text(audioSHA256), "track": text(track), "trackSha256": text(trackSHA256),
            ],
            "output": text(outputBase),
            "key": text(key),
            "status": .string(status.rawValue),
            "code": text(code),
            "message": text(message),
            "duration": duration.map { .decimal($0, places: 3) } ?? .null,
            "dominantEmotion": text(dominantEmotion),
            "outputs": .array(outputs.map(\.json)),
        ]
    }

    init(_ field: JSONField) throws {
        func text(_ field: JSONField, _ key: String) throws -> String? { try field.optional(key)?.string() }
        index = try field.required("index").int()
        id = try field.required("id").string()
        character = try field.required("character").string()
        language = try text(field, "language")
        scene = try text(field, "scene")
        start = try field.optional("start")?.double()
        self.text = try text(field, "text")
        emotionHint = try text(field, "emotionHint")
        let input = try field.required("input")
        audio = try text(input, "audio")
        audioSHA256 = try text(input, "audioSha256")
        track = try text(input, "track")
        trackSHA256 = try text(input, "trackSha256")
        outputBase = try text(field, "output")
        key = try text(field, "key")
        let statusText = try field.required("status").string()
        guard let status = Status(rawValue: statusText) else { throw field.fail("unknown status \"\(statusText)\"") }
        self.status = status
        code = try text(field, "code")
        message = try text(field, "message")
        duration = try field.optional("duration")?.double()
        dominantEmotion = try text(field, "dominantEmotion")
        outputs = try field.required("outputs").array().map(OutputFile.init)
    }

    init(result: LineResult) {
        let line = result.line
        index = result.index
        id = line.id
        character = line.character
        language = line.language
        scene = line.scene
        start = line.start
        text = line.text
        emotionHint = line.emotion
        audio = line.audio
        audioSHA256 = result.audioSHA256
        track = line.track
        trackSHA256 = result.trackSHA256
        outputBase = result.job?.outputBase
        if let record = result.record {
            key = record.key
            status = .ok
            duration = record.duration
            dominantEmotion = record.dominantEmotion
            outputs = record.outputs
        } else {
            status = .failed
            outputs = []
        }
        code = result.errorCode
        message = result.message
    }
}

/// A timeline the batch wrote, as listed in the manifest.
public struct ManifestTimeline: Sendable, Equatable {
    public var scene: String
    public var language: String?
    public var outputs: [OutputFile]
    /// Why a timeline format could not be written (the XML is always written).
    public var message: String?

    var json: JSONValue {
        [
            "scene": .string(scene), "language": language.map { .string($0) } ?? .null, "outputs": .array(outputs.map(\.json)),
            "message": message.map { .string($0) } ?? .null,
        ]
    }

    init(scene: String, language: String?, outputs: [OutputFile], message: String? = nil) {
        self.scene = scene
        self.language = language
        self.outputs = outputs
        self.message = message
    }

    init(_ field: JSONField) throws {
        scene = try field.required("scene").string()
        language = try field.optional("language")?.string()
        outputs = try field.required("outputs").array().map(OutputFile.init)
        message = try field.optional("message")?.string()
    }
}
