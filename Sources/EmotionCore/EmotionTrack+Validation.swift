extension EmotionTrack {
    /// Builds a track from parsed rows and checks every rule of the track format: at least
    /// one frame and one emotion, known and distinct emotion names, non-negative strictly
    /// increasing finite times, every row of the right length with finite alpha > 0.
    /// `source` names the file in messages; frames are numbered from 0.
    public static func validated(
        emotions rawNames: [String], times: [Double], rows: [[Double]], source: String,
        origin: String? = nil, model: String? = nil
    ) throws -> EmotionTrack {
        var values: [Double] = []
        values.reserveCapacity(rows.reduce(0) { $0 + $1.count })
        let rowEnds = rows.map { row in
            values.append(contentsOf: row)
            return values.count
        }
        return try validated(
            emotions: rawNames, times: times, values: values, rowEnds: rowEnds, source: source, origin: origin, model: model)
    }

    /// `validated` for rows stored one after another in `values`: row `i` is
    /// `values[rowEnds[i - 1]..<rowEnds[i]]` (from 0 for the first row). Once every row has
    /// the right length, `values` is the track's alpha as is.
    static func validated(
        emotions rawNames: [String], times: [Double], values: [Double], rowEnds: [Int], source: String,
        origin: String?, model: String?
    ) throws -> EmotionTrack {
        let emotions = try canonicalEmotions(rawNames, source: source)
        guard !times.isEmpty else { throw EmotionCoreError("track.empty", "\(source): the track has no frames") }
        guard rowEnds.count == times.count else {
            throw EmotionCoreError(
                "track.frameCount", "\(source): \(times.count) times but \(rowEnds.count) alpha rows")
        }
        var rowStart = 0
        for (frame, time) in times.enumerated() {
            guard time.isFinite else { throw EmotionCoreError("track.badTime", "\(source): frame \(frame): time is not a finite number") }
            guard time >= 0 else { throw EmotionCoreError("track.negativeTime", "\(source): frame \(frame): negative time \(time)") }
            if frame > 0, time <= times[frame - 1] {
                throw EmotionCoreError(
                    "track.nonIncreasingTime",
                    "\(source): frame \(frame): time \(time) is not after the previous frame's \(times[frame - 1])")
            }
            let rowEnd = rowEnds[frame]
            guard rowEnd - rowStart == emotions.count else {
                throw EmotionCoreError(
                    "track.rowLength", "\(source): frame \(frame): \(rowEnd - rowStart) values for \(emotions.count) emotions")
            }
            for index in rowStart..<rowEnd {
                let value = values[index]
                guard value.isFinite else {
                    throw EmotionCoreError(
                        "track.nonFinite", "\(source): frame \(frame): \(emotions[index - rowStart]) is not a finite number")
                }
                guard value > 0 else {
                    throw EmotionCoreError(
                        "track.nonPositiveAlpha",
                        "\(source): frame \(frame): alpha for \(emotions[index - rowStart]) is \(value), must be > 0")
                }
            }
            rowStart = rowEnd
        }
        return EmotionTrack(emotions: emotions, times: times, alpha: values, source: origin, model: model)
    }

    /// Canonical names for a header, refusing unknown, empty and duplicate names.
    static func canonicalEmotions(_ names: [String], source: String) throws -> [String] {
        guard !names.isEmpty else { throw EmotionCoreError("track.noEmotions", "\(source): the track names no emotions") }
        var result: [String] = []
        for (index, name) in names.enumerated() {
            guard let canonical = EmotionVocabulary.canonicalName(name) else {
                throw EmotionCoreError(
                    "track.unknownEmotion",
                    "\(source): emotions[\(index)]: unknown emotion \"\(name)\" (known: \(EmotionVocabulary.canonical.joined(separator: ", ")))")
            }
            if let first = result.firstIndex(of: canonical) {
                throw EmotionCoreError(
                    "track.duplicateEmotion",
                    "\(source): emotions[\(index)]: \"\(name)\" duplicates emotions[\(first)] (\(canonical))")
            }
            result.append(canonical)
        }
        return result
    }

    /// Alpha for a mixture row from another tool: alpha_i = C * m_i + 1e-6, where C is the
    /// frame's concentration (default `defaultConcentration`: such tracks carry no
    /// confidence, so they are treated as confident). Rows must be non-negative and sum
    /// to 1 within 1e-3.
    public static let defaultConcentration = 100.0

    static func alphaFromMixture(_ row: some Collection<Double>, concentration: Double, frame: Int, emotions: [String], source: String)
        throws -> [Double]
    {
        for (index, value) in row.enumerated() {
            guard value.isFinite else {
                throw EmotionCoreError(
                    "track.nonFinite", "\(source): frame \(frame): \(index < emotions.count ? emotions[index] : "value \(index)") is not a finite number")
            }
            guard value >= 0 else {
                throw EmotionCoreError("track.negativeMixture", "\(source): frame \(frame): mixture value \(value) is negative")
            }
        }
        let total = row.reduce(0, +)
        guard abs(total - 1) <= 1e-3 else {
            throw EmotionCoreError(
                "track.mixtureSum", "\(source): frame \(frame): mixture sums to \(total), must sum to 1")
        }
        guard concentration.isFinite, concentration > 0 else {
            throw EmotionCoreError("track.badConcentration", "\(source): frame \(frame): concentration must be a positive number")
        }
        return row.map { concentration * $0 + 1e-6 }
    }
}
