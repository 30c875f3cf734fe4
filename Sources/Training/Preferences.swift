import Common
import Foundation
import JSONIO

/// One human (or simulated) judgement: of two candidate emotion tracks for the same clip,
/// which one looked right.
///
/// The preferences file is JSON lines, one judgement per line, keys in this order:
/// ```
/// {"clip":"audio/line_007.wav","candidates":["candidates/line_007/c1.json","candidates/line_007/c3.json"],"chosen":1,"annotator":"simulated-ground-truth"}
/// ```
/// - `clip`: the audio the candidates animate.
/// - `candidates`: two emotion track files (the two sides of the pair).
/// - `chosen`: 0 or 1, the index in `candidates` of the one preferred.
/// - `annotator`: who chose. `simulated-ground-truth` marks the simulated annotator
///   (`SimulatedAnnotator`), which is not a person; anything else names a person or a team.
/// - `pair` (optional): an identifier of the pair within a review.
/// Relative paths are relative to a base folder: the preferences file's folder unless the
/// reader is told otherwise (a review page's exports are relative to the review folder).
/// Blank lines are skipped.
public struct Preference: Sendable, Equatable {
    public var clip: String
    public var candidates: [String]
    public var chosen: Int
    public var annotator: String
    public var pair: String?

    public init(clip: String, candidates: [String], chosen: Int, annotator: String, pair: String? = nil) {
        precondition(candidates.count == 2 && (chosen == 0 || chosen == 1), "Preference: two candidates, chosen 0 or 1")
        self.clip = clip
        self.candidates = candidates
        self.chosen = chosen
        self.annotator = annotator
        self.pair = pair
    }

    /// The preferred candidate (y_w in the DPO loss) and the other one (y_l).
    public var winner: String { candidates[chosen] }
    public var loser: String { candidates[1 - chosen] }

    /// True when the simulated annotator, not a person, made this judgement.
    public var isSimulated: Bool { annotator == PreferencesFile.simulatedAnnotator }

    /// The line as JSON, keys in a fixed order, no trailing newline.
    public var jsonLine: String {
        var object = JSONObject()
        if let pair { object["pair"] = .string(pair) }
        object["clip"] = .string(clip)
        object["candidates"] = .array(candidates.map { .string($0) })
        object["chosen"] = .integer(Int64(chosen))
        object["annotator"] = .string(annotator)
        // serialize() ends in a newline; a line must not.
        return String((try? JSONCodec.serialize(.object(object), style: .compact))?.dropLast() ?? "")
    }
}

/// Reading and writing preferences files (JSON lines, see `Preference`).
public enum PreferencesFile {
    /// The annotator name of `SimulatedAnnotator`: every file, report and model card that
    /// uses its judgements says so.
    public static let simulatedAnnotator = "simulated-ground-truth"

    /// Parses preferences; errors name the file, the line and the field.
    public static func parse(_ text: String, source: String) throws -> [Preference] {
        var result: [Preference] = []
        for (offset, rawLine) in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" }).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty { continue }
            let location = "\(source):\(offset + 1)"
            let value: JSONValue
            do {
                value = try JSONCodec.parse(Data(line.utf8), source: location)
            } catch {
                throw TrainingError("preferences.syntax", "\(location): not a JSON object (\(oneLineMessage(error).replacingOccurrences(of: location + ":1:", with: "column ")))")
            }
            let root = JSONField(value, source: location)
            do {
                let clip = try root.required("clip").string()
                let candidatesField = try root.required("candidates")
                let candidates = try candidatesField.strings()
                guard candidates.count == 2 else {
                    throw candidatesField.fail("expected two candidate track files, found \(candidates.count)", code: "preferences.candidates")
                }
                guard candidates[0] != candidates[1] else {
                    throw candidatesField.fail("the two candidates are the same file", code: "preferences.candidates")
                }
                let chosenField = try root.required("chosen")
                let chosen = try chosenField.int()
                guard chosen == 0 || chosen == 1 else {
                    throw chosenField.fail("expected 0 or 1 (the index of the preferred candidate), found \(chosen)", code: "preferences.chosen")
                }
                let annotator = try root.required("annotator").string()
                guard !annotator.trimmingCharacters(in: .whitespaces).isEmpty else {
                    throw try root.required("annotator").fail("must name who chose (a person, or \(simulatedAnnotator))", code: "preferences.annotator")
                }
                let pair = try root.optional("pair")?.string()
                result.append(Preference(clip: clip, candidates: candidates, chosen: chosen, annotator: annotator, pair: pair))
            } catch let error as JSONError {
                throw TrainingError(error.code, error.message)
            }
        }
        return result
    }

    public static func read(_ url: URL) throws -> [Preference] {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw TrainingError("preferences.missing", "\(url.path): cannot read the preferences file (no such file or no permission)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw TrainingError("preferences.encoding", "\(url.path): not UTF-8 text")
        }
        let preferences = try parse(text, source: url.path)
        guard !preferences.isEmpty else {
            throw TrainingError("preferences.empty", "\(url.path): no preferences in the file")
        }
        return preferences
    }

    /// The file's text: one line per preference, LF line ends.
    public static func text(_ preferences: [Preference]) -> String {
        preferences.map { $0.jsonLine + "\n" }.joined()
    }

    public static func write(_ preferences: [Preference], to url: URL) throws {
        try AtomicFile.write(text(preferences), to: url)
    }

    /// Who made the judgements, for reports: "simulated-ground-truth (simulated annotator)",
    /// or the people's names.
    public static func annotatorSummary(_ preferences: [Preference]) -> String {
        let names = Array(Set(preferences.map(\.annotator))).sorted()
        return names.map { $0 == simulatedAnnotator ? "\($0) (simulated annotator, not people)" : $0 }.joined(separator: ", ")
    }
}
