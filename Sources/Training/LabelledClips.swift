import Common
import EmotionCore
import Foundation

/// Errors about training data, runs and checkpoints; messages name the file and line at fault.
public struct TrainingError: EmoBakeError {
    public let code: String
    public let message: String
    public init(_ code: String, _ message: String) {
        self.code = code
        self.message = message
    }
}

/// One labelled audio clip.
public struct LabelledClip: Sendable, Equatable {
    public var url: URL
    /// Index into the emotion list.
    public var label: Int
    /// Who speaks (RAVDESS: the actor number), for splitting by speaker.
    public var speaker: String?
    /// "train" or "validation" when the data says so.
    public var split: String?

    public init(url: URL, label: Int, speaker: String? = nil, split: String? = nil) {
        self.url = url
        self.label = label
        self.speaker = speaker
        self.split = split
    }
}

/// Finds labelled clips in a data folder or list.
///
/// - A RAVDESS folder (`Actor_XX/03-01-EE-II-SS-RR-AA.wav|flac`): the emotion is field EE
///   (01 neutral, 02 calm, 03 happy, 04 sad, 05 angry, 06 fearful, 07 disgust, 08 surprised),
///   the speaker is AA. Calm is merged into neutral when the emotion list has no "calm".
/// - A CSV file, or a folder holding `labels.csv`: a header row naming the columns `path` and
///   `label`, optionally `speaker` and `split` (train or validation). Paths are relative to the
///   CSV's folder. Labels may use any spelling EmotionVocabulary knows ("fearful", "anger").
public enum ClipCatalogue {
    public static let ravdessEmotions = [
        "01": "neutral", "02": "calm", "03": "happy", "04": "sad", "05": "angry", "06": "fear", "07": "disgust", "08": "surprise",
    ]
    static let audioExtensions: Set<String> = ["wav", "flac", "ogg", "mp3", "aiff", "aif"]

    public static func load(_ location: URL, emotions: [String]) throws -> [LabelledClip] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: location.path, isDirectory: &isDirectory) else {
            throw TrainingError("data.missing", "\(location.path): no such file or folder")
        }
        if !isDirectory.boolValue { return try csv(location, emotions: emotions) }
        let list = location.appendingPathComponent("labels.csv")
        if FileManager.default.fileExists(atPath: list.path) { return try csv(list, emotions: emotions) }
        return try ravdess(location, emotions: emotions)
    }

    /// The index of a label in `emotions`, folding spellings; calm becomes neutral when the
    /// list has no calm.
    static func labelIndex(_ text: String, emotions: [String]) -> Int? {
        guard var name = EmotionVocabulary.canonicalName(text) else { return nil }
        if name == "calm" && !emotions.contains("calm") { name = "neutral" }
        return emotions.firstIndex(of: name)
    }

    public static func ravdess(_ folder: URL, emotions: [String]) throws -> [LabelledClip] {
        guard let walker = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil) else {
            throw TrainingError("data.unreadable", "\(folder.path): cannot list the folder")
        }
        var clips: [LabelledClip] = []
        for case let url as URL in walker where audioExtensions.contains(url.pathExtension.lowercased()) {
            let fields = url.deletingPathExtension().lastPathComponent.split(separator: "-").map(String.init)
            guard fields.count == 7, fields.allSatisfy({ $0.count == 2 && $0.allSatisfy(\.isNumber) }) else {
                throw TrainingError(
                    "data.name",
                    "\(url.path): not a RAVDESS file name (MM-VV-EE-II-SS-RR-AA); give a labels.csv for other data")
            }
            guard let emotion = ravdessEmotions[fields[2]] else {
                throw TrainingError("data.label", "\(url.path): unknown RAVDESS emotion code \(fields[2])")
            }
            guard let label = labelIndex(emotion, emotions: emotions) else {
                throw TrainingError("data.label", "\(url.path): emotion \(emotion) is not one of \(emotions.joined(separator: ", "))")
            }
            clips.append(LabelledClip(url: url.standardizedFileURL, label: label, speaker: fields[6]))
        }
        guard !clips.isEmpty else {
            throw TrainingError("data.empty", "\(folder.path): no audio clips found (expected RAVDESS Actor_XX folders or a labels.csv)")
        }
        return clips.sorted { $0.url.path < $1.url.path }
    }

    public static func csv(_ file: URL, emotions: [String]) throws -> [LabelledClip] {
        let text: String
        do { text = try String(contentsOf: file, encoding: .utf8) } catch {
            throw TrainingError("data.unreadable", "\(file.path): cannot read the file as UTF-8 text")
        }
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).map { String($0) }
        guard let headerLine = lines.first(where: { !$0.trimmingCharacters(in: .whitespaces).isEmpty }) else {
            throw TrainingError("data.empty", "\(file.path): empty file, expected a header row with path,label")
        }
        let header = splitRow(headerLine).map { $0.lowercased() }
        guard let pathColumn = header.firstIndex(of: "path"), let labelColumn = header.firstIndex(of: "label") else {
            throw TrainingError("data.header", "\(file.path):1: the header must name the columns path and label (found \(header.joined(separator: ",")))")
        }
        let speakerColumn = header.firstIndex(of: "speaker"), splitColumn = header.firstIndex(of: "split")
        let base = file.deletingLastPathComponent()
        var clips: [LabelledClip] = []
        var headerSeen = false
        for (offset, line) in lines.enumerated() {
            let number = offset + 1
            if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            if !headerSeen { headerSeen = true; continue }
            let cells = splitRow(line)
            guard cells.count == header.count else {
                throw TrainingError("data.row", "\(file.path):\(number): expected \(header.count) columns, found \(cells.count)")
            }
            let path = cells[pathColumn]
            guard !path.isEmpty else { throw TrainingError("data.row", "\(file.path):\(number): empty path") }
            guard let label = labelIndex(cells[labelColumn], emotions: emotions) else {
                throw TrainingError(
                    "data.label", "\(file.path):\(number): label \"\(cells[labelColumn])\" is not one of \(emotions.joined(separator: ", "))")
            }
            var split: String?
            if let splitColumn {
                let value = cells[splitColumn].lowercased()
                guard ["train", "validation", ""].contains(value) else {
                    throw TrainingError("data.split", "\(file.path):\(number): split \"\(cells[splitColumn])\" must be train or validation")
                }
                split = value.isEmpty ? nil : value
            }
            let url = path.hasPrefix("/") ? URL(fileURLWithPath: path) : base.appendingPathComponent(path)
            clips.append(
                LabelledClip(url: url.standardizedFileURL, label: label, speaker: speakerColumn.map { cells[$0] }, split: split))
        }
        guard !clips.isEmpty else { throw TrainingError("data.empty", "\(file.path): no rows after the header") }
        return clips
    }

    /// Comma-separated cells; double quotes enclose cells with commas ("" is a quote).
    static func splitRow(_ line: String) -> [String] {
        var cells: [String] = []
        var current = ""
        var quoted = false
        var iterator = line.makeIterator()
        while let character = iterator.next() {
            if quoted {
                if character == "\"" {
                    if let next = iterator.next() {
                        if next == "\"" { current.append("\"") } else {
                            quoted = false
                            if next == "," { cells.append(current); current = "" } else { current.append(next) }
                        }
                    } else { quoted = false }
                } else { current.append(character) }
            } else if character == "\"" && current.isEmpty {
                quoted = true
            } else if character == "," {
                cells.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        cells.append(current)
        return cells.map { $0.trimmingCharacters(in: .whitespaces) }
    }

    /// Train and validation sets: a clip's `split` wins; otherwise clips whose speaker is in
    /// `validationSpeakers` validate and the rest train. Speakers compare as numbers when both
    /// are numbers ("07" == "7").
    public static func split(_ clips: [LabelledClip], validationSpeakers: Set<String>) -> (train: [LabelledClip], validation: [LabelledClip]) {
        func normalised(_ speaker: String) -> String { Int(speaker).map(String.init) ?? speaker }
        let speakers = Set(validationSpeakers.map(normalised))
        var train: [LabelledClip] = [], validation: [LabelledClip] = []
        for clip in clips {
            let validates: Bool
            if let split = clip.split {
                validates = split == "validation"
            } else if let speaker = clip.speaker {
                validates = speakers.contains(normalised(speaker))
            } else {
                validates = false
            }
            if validates { validation.append(clip) } else { train.append(clip) }
        }
        return (train, validation)
    }

    /// "17-20,23" -> ["17", "18", "19", "20", "23"].
    public static func parseSpeakers(_ text: String) throws -> Set<String> {
        var result: Set<String> = []
        for part in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !part.isEmpty {
            let bounds = part.split(separator: "-").map { Int($0) }
            if bounds.count == 2, let low = bounds[0], let high = bounds[1], low <= high, high - low < 10_000 {
                for value in low...high { result.insert(String(value)) }
            } else {
                result.insert(part)
            }
        }
        return result
    }
}
