import Foundation

/// One row of a dialogue script: a line a character speaks.
public struct DialogueLine: Sendable, Equatable {
    /// Unique within the script; names the output files.
    public var id: String
    public var character: String
    /// The voice-over file, relative to the script's folder (or absolute).
    public var audio: String?
    public var text: String?
    public var language: String?
    /// A director's hint such as "angry": a Dirichlet prior on the prediction.
    public var emotion: String?
    /// Seconds into the cinematic; lines with a start are placed on their scene's timeline.
    public var start: Double?
    /// An existing emotion track used instead of predicting from `audio`.
    public var track: String?
    /// The cinematic the line belongs to (lines without a scene but with a start share
    /// the scene named after the script).
    public var scene: String?
    /// Where the row is, for messages: `script.csv:12` or `script.json: lines[3]`.
    public var location: String
    /// A problem found while reading this row; the line fails with it and the others go on.
    public var problem: String?

    public init(
        id: String, character: String, audio: String? = nil, text: String? = nil, language: String? = nil,
        emotion: String? = nil, start: Double? = nil, track: String? = nil, scene: String? = nil,
        location: String, problem: String? = nil
    ) {
        self.id = id
        self.character = character
        self.audio = audio
        self.text = text
        self.language = language
        self.emotion = emotion
        self.start = start
        self.track = track
        self.scene = scene
        self.location = location
        self.problem = problem
    }
}

/// A parsed dialogue script: its lines in file order.
public struct DialogueScript: Sendable {
    /// The script file; audio and track paths are relative to its folder.
    public var url: URL
    public var lines: [DialogueLine]

    public init(url: URL, lines: [DialogueLine]) {
        self.url = url
        self.lines = lines
    }

    public var directory: URL { url.deletingLastPathComponent() }

    /// The script's file name without extension, the default scene name.
    public var name: String { url.deletingPathExtension().lastPathComponent }

    /// The columns a script may have. Other columns (notes, take numbers) are ignored.
    public static let columns = ["id", "character", "audio", "text", "language", "emotion", "start", "track", "scene"]

    /// Reads a script; the format follows the extension: .csv, .tsv (or .tab), .json, .xml.
    /// Whole-file problems (unreadable, bad syntax, missing columns) throw; a problem in one
    /// row is kept on that line so the batch can report it and go on.
    public static func load(_ url: URL) throws -> DialogueScript {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            let exists = FileManager.default.fileExists(atPath: url.path)
            throw BatchError("script.read", "\(url.path): cannot read script (\(exists ? "permission or I/O error" : "no such file"))")
        }
        let lines: [DialogueLine]
        switch url.pathExtension.lowercased() {
        case "csv": lines = try parseDelimited(data, separator: ",", source: url.path)
        case "tsv", "tab": lines = try parseDelimited(data, separator: "\t", source: url.path)
        case "json": lines = try parseJSON(data, source: url.path)
        case "xml": lines = try parseXML(data, source: url.path)
        default:
            throw BatchError(
                "script.format", "\(url.path): unknown script format \".\(url.pathExtension)\": use .csv, .tsv, .json or .xml")
        }
        return DialogueScript(url: url, lines: lines)
    }

    /// Builds a line from named text fields (shared by every format). Row-level problems
    /// (a missing id, a bad start time) are recorded on the line.
    static func line(from fields: [String: String], location: String) -> DialogueLine {
        func value(_ key: String) -> String? {
            guard let text = fields[key]?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty else { return nil }
            return text
        }
        var line = DialogueLine(
            id: value("id") ?? "", character: value("character") ?? "", audio: value("audio"),
            text: fields["text"].flatMap { $0.isEmpty ? nil : $0 }, language: value("language"),
            emotion: value("emotion")?.lowercased(), track: value("track"), scene: value("scene"), location: location)
        var problems: [String] = []
        if line.id.isEmpty { problems.append("missing id") }
        if line.character.isEmpty { problems.append("missing character") }
        if line.audio == nil && line.track == nil { problems.append("needs an audio file or a track") }
        if let start = value("start") {
            if let seconds = parseTime(start) {
                line.start = seconds
            } else {
                problems.append("start \"\(start)\" is not a time (use seconds like 12.5 or mm:ss.sss)")
            }
        }
        if !problems.isEmpty { line.problem = problems.joined(separator: "; ") }
        return line
    }

    /// Seconds ("12.5") or a clock time ("1:02.5", "00:01:02.500"); nil when invalid or negative.
    static func parseTime(_ text: String) -> Double? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard (1...3).contains(parts.count) else { return nil }
        var total = 0.0
        for (index, part) in parts.enumerated() {
            let isLast = index == parts.count - 1
            guard !part.isEmpty, part.allSatisfy({ $0.isASCII && ($0.isNumber || (isLast && $0 == ".")) }),
                let number = Double(part), number.isFinite
            else { return nil }
            if !isLast && number != number.rounded() { return nil }
            if index > 0 && number >= 60 { return nil }
            total = total * 60 + number
        }
        return total
    }
}
