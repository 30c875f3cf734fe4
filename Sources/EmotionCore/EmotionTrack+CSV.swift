import Common
import Foundation

/// CSV forms of a track.
///
/// Ours: a header `time,alpha_neutral,alpha_happy,...` then one row per frame.
/// From other tools: `time,neutral,happy,...` holds a mixture per row (summing to 1).
/// Audio2Face emotion CSV: a time or frame column and the ten Audio2Face emotion channels
/// (amazement, anger, cheekiness, disgust, fear, grief, joy, outofbreath, pain, sadness),
/// each a strength in [0, 1]. Audio2Face channels are independent strengths, so a row is
/// turned into a mixture: if the strengths sum to more than 1 they are divided by their sum,
/// otherwise the remainder (1 - sum) is neutral. A `frame` column is read at 30 fps unless
/// a `fps` or `frameRate` value is given by the caller.
extension EmotionTrack {
    public static let audio2FaceEmotions = [
        "amazement", "anger", "cheekiness", "disgust", "fear", "grief", "joy", "outofbreath", "pain", "sadness",
    ]

    public static func parseCSV(_ data: Data, source: String, frameRate: Double = 30) throws -> EmotionTrack {
        let text = String(decoding: data, as: UTF8.self)
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
            .map { $0.hasSuffix("\r") ? String($0.dropLast()) : String($0) }
        while let last = lines.last, last.trimmingCharacters(in: .whitespaces).isEmpty { lines.removeLast() }
        guard var header = lines.first.map({ splitRow($0) }) else {
            throw EmotionCoreError("track.empty", "\(source): empty file, expected a CSV header")
        }
        if let first = header.first, first.hasPrefix("\u{FEFF}") { header[0] = String(first.dropFirst()) }
        let lowered = header.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard let timeName = lowered.first, ["time", "timecode", "frame", "t", "seconds"].contains(timeName) else {
            throw EmotionCoreError(
                "track.csvHeader", "\(source): line 1: the first column must be time (seconds) or frame, found \"\(header.first ?? "")\"")
        }
        let valueNames = Array(lowered.dropFirst())
        let isAudio2Face = Set(valueNames) == Set(audio2FaceEmotions) && valueNames.count == audio2FaceEmotions.count
        let isAlpha = !valueNames.isEmpty && valueNames.allSatisfy { $0.hasPrefix("alpha_") }
        let timeScale = timeName == "frame" ? 1 / frameRate : 1

        var times: [Double] = []
        var rawRows: [[Double]] = []
        for (offset, line) in lines.dropFirst().enumerated() {
            let lineNumber = offset + 2
            let cells = splitRow(line)
            guard cells.count == header.count else {
                throw EmotionCoreError(
                    "track.rowLength", "\(source): line \(lineNumber): \(cells.count) columns, the header has \(header.count)")
            }
            var numbers: [Double] = []
            for (column, cell) in cells.enumerated() {
                guard let value = Double(cell.trimmingCharacters(in: .whitespaces)) else {
                    throw EmotionCoreError(
                        "track.notNumber", "\(source): line \(lineNumber): column \(header[column]): \"\(cell)\" is not a number")
                }
                numbers.append(value)
            }
            times.append(numbers[0] * timeScale)
            rawRows.append(Array(numbers.dropFirst()))
        }
        guard !times.isEmpty else { throw EmotionCoreError("track.empty", "\(source): the track has no frames") }

        if isAudio2Face {
            return try fromAudio2Face(names: valueNames, times: times, rows: rawRows, source: source)
        }
        if isAlpha {
            let names = valueNames.map { String($0.dropFirst("alpha_".count)) }
            return try validated(emotions: names, times: times, rows: rawRows, source: source)
        }
        let names = try canonicalEmotions(valueNames, source: source)
        let rows = try rawRows.enumerated().map { frame, row in
            try alphaFromMixture(row, concentration: defaultConcentration, frame: frame, emotions: names, source: source)
        }
        return try validated(emotions: names, times: times, rows: rows, source: source)
    }

    private static func fromAudio2Face(names: [String], times: [Double], rows: [[Double]], source: String) throws
        -> EmotionTrack
    {
        // Columns in file order -> canonical names; "neutral" gets the remainder.
        let canonical = names.map { EmotionVocabulary.canonicalName($0) ?? $0 }
        let emotions = ["neutral"] + canonical
        var mixtures: [[Double]] = []
        for (frame, row) in rows.enumerated() {
            for (index, value) in row.enumerated() where !(value.isFinite && value >= 0 && value <= 1) {
                throw EmotionCoreError(
                    "track.audio2FaceRange", "\(source): frame \(frame): \(names[index]) is \(value), Audio2Face strengths lie in [0, 1]")
            }
            let total = row.reduce(0, +)
            if total > 1 {
                mixtures.append([0] + row.map { $0 / total })
            } else {
                mixtures.append([1 - total] + row)
            }
        }
        let alphaRows = try mixtures.enumerated().map { frame, row in
            try alphaFromMixture(row, concentration: defaultConcentration, frame: frame, emotions: emotions, source: source)
        }
        return try validated(emotions: emotions, times: times, rows: alphaRows, source: source, origin: "Audio2Face")
    }

    /// The track as our CSV: `time,alpha_<emotion>...`, times with 6 decimals, alpha with 8.
    public func csvData() -> Data {
        var bytes = Array(("time," + emotions.map { "alpha_\($0)" }.joined(separator: ",") + "\n").utf8)
        for frame in 0..<frameCount {
            FixedDecimal.append(times[frame], 6, to: &bytes)
            for value in alpha(frame: frame) {
                bytes.append(UInt8(ascii: ","))
                FixedDecimal.append(value, 8, to: &bytes)
            }
            bytes.append(UInt8(ascii: "\n"))
        }
        return Data(bytes)
    }

    /// Splits one CSV row: commas, double-quoted fields with "" escapes.
    static func splitRow(_ line: String) -> [String] {
        var cells: [String] = []
        var current = ""
        var inQuotes = false
        var iterator = line.makeIterator()
        var pending: Character? = nil
        while let character = pending ?? iterator.next() {
            pending = nil
            if inQuotes {
                if character == "\"" {
                    if let next = iterator.next() {
                        if next == "\"" { current.append("\"") } else { inQuotes = false; pending = next }
                    } else { inQuotes = false }
                } else { current.append(character) }
            } else if character == "\"" {
                inQuotes = true
            } else if character == "," {
                cells.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        cells.append(current)
        return cells
    }
}
