/// Emotion over time: for each frame a time (seconds) and a Dirichlet parameter vector alpha
/// over K named emotions.
///
/// The mixture is the Dirichlet mean, `mixture_i = alpha_i / sum(alpha)`, and the
/// concentration `sum(alpha)` says how confident the model was (high = confident).
/// Alpha is stored row-major in one flat array (`frameCount x emotionCount`).
public struct EmotionTrack: Sendable, Equatable {
    public var emotions: [String]
    /// Frame times in seconds, strictly increasing, non-negative.
    public var times: [Double]
    /// Row-major, `times.count * emotions.count` values, all > 0 and finite.
    public var alpha: [Double]
    /// Where the track came from (an audio file, another tool).
    public var source: String?
    /// The model that predicted it, if any.
    public var model: String?

    public init(emotions: [String], times: [Double], alpha: [Double], source: String? = nil, model: String? = nil) {
        precondition(alpha.count == times.count * emotions.count, "EmotionTrack: alpha has the wrong size")
        self.emotions = emotions
        self.times = times
        self.alpha = alpha
        self.source = source
        self.model = model
    }

    public var frameCount: Int { times.count }
    public var emotionCount: Int { emotions.count }

    /// Alpha of one frame.
    public func alpha(frame: Int) -> ArraySlice<Double> {
        alpha[(frame * emotionCount)..<((frame + 1) * emotionCount)]
    }

    /// sum(alpha) of one frame.
    public func concentration(frame: Int) -> Double {
        alpha(frame: frame).reduce(0, +)
    }

    /// alpha / sum(alpha) of one frame; sums to 1.
    public func mixture(frame: Int) -> [Double] {
        let row = alpha(frame: frame)
        let total = row.reduce(0, +)
        return row.map { $0 / total }
    }

    /// Every frame's mixture, row-major like `alpha`.
    public var mixtures: [Double] {
        var result = [Double](repeating: 0, count: alpha.count)
        let k = emotionCount
        for frame in 0..<frameCount {
            var total = 0.0
            for i in 0..<k { total += alpha[frame * k + i] }
            for i in 0..<k { result[frame * k + i] = alpha[frame * k + i] / total }
        }
        return result
    }

    public var concentrations: [Double] { (0..<frameCount).map(concentration(frame:)) }

    /// The index of an emotion by name, nil when the track has no such emotion.
    public func index(of emotion: String) -> Int? { emotions.firstIndex(of: emotion) }

    /// The emotion with the largest mean mixture over the whole track.
    public var dominantEmotion: String? {
        guard frameCount > 0 else { return nil }
        var sums = [Double](repeating: 0, count: emotionCount)
        let all = mixtures
        for frame in 0..<frameCount { for i in 0..<emotionCount { sums[i] += all[frame * emotionCount + i] } }
        let best = sums.indices.max(by: { sums[$0] < sums[$1] })!
        return emotions[best]
    }

    /// Last frame time (0 for an empty track).
    public var duration: Double { times.last ?? 0 }
}
