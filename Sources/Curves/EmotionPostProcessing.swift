import Common
import EmotionCore
import Foundation

/// Emotion post-processing before mapping: everything Audio2Face's emotion post-processing
/// offers, with the same meaning, plus confidence weighting and per-emotion gains.
///
/// Every step maps a mixture on the simplex to a mixture on the simplex (shares >= 0, sum 1),
/// so the result is still a mixture and the clip's emotion keys stay meaningful. Where a step
/// takes expression away, the share goes to `neutral` (which rigs map to no movement); a track
/// without a `neutral` emotion gets one appended, with share 0 before processing.
///
/// Per frame t, with `m` = alpha / sum(alpha) and `c` = sum(alpha) (the Dirichlet
/// concentration), `n` = neutral's index and `e_i` the one-hot mixture of emotion i, in order:
///
/// 1. **Confidence weighting** (`confidenceWeighting` = c0 >= 0; 0 = off):
///    `m = w m + (1 - w) e_n`, `w = c / (c + c0)`. A frame with concentration c0 keeps half its
///    expression; confident frames (c >> c0) keep nearly all.
/// 2. **Contrast** (`contrast` = g > 0; 1 = off): `m_i = m_i^g / sum_j m_j^g`. g > 1 sharpens toward
///    the dominant emotion, g < 1 flattens toward uniform. When m = softmax(z) this is
///    softmax(g z), Audio2Face's emotion contrast.
/// 3. **Max emotions** (`maxEmotions` = k; nil = off): keep neutral and the k largest other
///    shares (ties: the emotion listed first), zero the rest, renormalise to sum 1.
/// 4. **Blend with previous** (`blendWithPrevious` = b in [0, 1); 0 = off), per track frame:
///    `y_t = (1 - b) x_t + b y_(t-1)`, `y_0 = x_0` (Audio2Face's live blend coefficient).
/// 5. **Transition smoothing** (`transitionSmoothing` = T seconds; 0 = off), independent of the
///    frame rate: `y_t = y_(t-1) + (1 - exp(-(t - t_prev) / T)) (x_t - y_(t-1))`, `y_0 = x_0`.
///    A sudden change of emotion is 63% done after T seconds.
/// 6. **Preferred emotion** (`preferredEmotion` p, `preferredStrength` s in [0, 1]):
///    `m = (1 - s) m + s e_p`.
/// 7. **Strength** (`strength` = S in [0, 1]; 1 = off), the strength of the emotions relative
///    to neutral: `m = S m + (1 - S) e_n`.
/// 8. **Gains** (`gains[emotion]` = g_i >= 0; missing = 1; not allowed on neutral): each emotion's
///    share is scaled, `u_i = g_i m_i` for i != n; if `U = sum u_i <= 1` neutral takes the rest
///    (`m_n = 1 - U`), otherwise the scaled shares are renormalised (`m_i = u_i / U`, `m_n = 0`).
///
/// The defaults (`init()`) leave every mixture unchanged.
public struct EmotionPostProcessing: Sendable, Equatable {
    /// The emotion whose share means "no expression".
    public static let neutralEmotion = "neutral"

    public var confidenceWeighting: Double = 0
    public var contrast: Double = 1
    public var maxEmotions: Int? = nil
    public var blendWithPrevious: Double = 0
    public var transitionSmoothing: Double = 0
    public var preferredEmotion: String? = nil
    public var preferredStrength: Double = 0
    public var strength: Double = 1
    public var gains: [String: Double] = [:]

    /// Identity: every mixture passes unchanged.
    public init() {}

    public init(
        confidenceWeighting: Double = 0, contrast: Double = 1, maxEmotions: Int? = nil, blendWithPrevious: Double = 0,
        transitionSmoothing: Double = 0, preferredEmotion: String? = nil, preferredStrength: Double = 0,
        strength: Double = 1, gains: [String: Double] = [:]
    ) {
        self.confidenceWeighting = confidenceWeighting
        self.contrast = contrast
        self.maxEmotions = maxEmotions
        self.blendWithPrevious = blendWithPrevious
        self.transitionSmoothing = transitionSmoothing
        self.preferredEmotion = preferredEmotion
        self.preferredStrength = preferredStrength
        self.strength = strength
        self.gains = gains
    }

    /// True when `apply` changes nothing (apart from appending a missing neutral emotion).
    public var isIdentity: Bool {
        confidenceWeighting == 0 && contrast == 1 && maxEmotions == nil && blendWithPrevious == 0
            && transitionSmoothing == 0 && (preferredEmotion == nil || preferredStrength == 0) && strength == 1
            && gains.values.allSatisfy { $0 == 1 }
    }

    /// Checks every parameter's range; messages name the setting.
    public func validate() throws {
        func check(_ ok: Bool, _ code: String, _ problem: String) throws {
            if !ok { throw CurvesError("postProcessing.\(code)", "emotion post-processing: \(problem)") }
        }
        try check(
            confidenceWeighting.isFinite && confidenceWeighting >= 0, "confidenceWeighting",
            "confidenceWeighting must be a finite number >= 0 (0 turns it off), not \(confidenceWeighting)")
        try check(contrast.isFinite && contrast > 0 && contrast <= 10, "contrast", "contrast must be > 0 and <= 10, not \(contrast)")
        if let maxEmotions {
            try check(maxEmotions >= 1, "maxEmotions", "maxEmotions must be at least 1, not \(maxEmotions)")
        }
        try check(
            blendWithPrevious.isFinite && blendWithPrevious >= 0 && blendWithPrevious < 1, "blendWithPrevious",
            "blendWithPrevious must be >= 0 and < 1, not \(blendWithPrevious)")
        try check(
            transitionSmoothing.isFinite && transitionSmoothing >= 0 && transitionSmoothing <= 3600, "transitionSmoothing",
            "transitionSmoothing must be from 0 to 3600 seconds, not \(transitionSmoothing)")
        try check(
            preferredStrength.isFinite && preferredStrength >= 0 && preferredStrength <= 1, "preferredStrength",
            "preferredStrength must be from 0 to 1, not \(preferredStrength)")
        try check(strength.isFinite && strength >= 0 && strength <= 1, "strength", "strength must be from 0 to 1, not \(strength)")
        for (emotion, gain) in gains.sorted(by: { $0.key < $1.key }) {
            try check(gain.isFinite && gain >= 0 && gain <= 100, "gain", "gain of \(emotion) must be from 0 to 100, not \(gain)")
            try check(
                emotion != Self.neutralEmotion, "gain",
                "a gain on neutral is not allowed: neutral's share is what the other emotions leave (use strength)")
        }
    }

    /// Settings as text, in a fixed order, for the clip's metadata.
    public var summary: [(key: String, value: String)] {
        func number(_ value: Double) -> String { DecimalFormat.trimmed(value, 6) }
        var result: [(key: String, value: String)] = [
            ("confidenceWeighting", number(confidenceWeighting)),
            ("contrast", number(contrast)),
            ("maxEmotions", maxEmotions.map(String.init) ?? "all"),
            ("blendWithPrevious", number(blendWithPrevious)),
            ("transitionSmoothing", number(transitionSmoothing)),
            ("preferredEmotion", preferredEmotion ?? "none"),
            ("preferredStrength", number(preferredStrength)),
            ("strength", number(strength)),
        ]
        let gainText = gains.sorted { $0.key < $1.key }.map { "\($0.key)=\(number($0.value))" }.joined(separator: ",")
        result.append(("gains", gainText.isEmpty ? "none" : gainText))
        return result
    }

    /// The post-processed track: the same times, the emotions of `track` (plus `neutral` if it
    /// had none), and alpha = processed mixture x the frame's original concentration (shares
    /// that came out exactly 0 are stored as 1e-12 of the concentration, since alpha must be > 0).
    public func apply(to track: EmotionTrack) throws -> EmotionTrack {
        let processed = try process(track)
        let k = processed.emotions.count
        var alpha = [Double](repeating: 0, count: processed.mixtures.count)
        for frame in 0..<processed.frameCount {
            let c = processed.concentrations[frame]
            for i in 0..<k { alpha[frame * k + i] = max(processed.mixtures[frame * k + i], 1e-12) * c }
        }
        return EmotionTrack(
            emotions: processed.emotions, times: processed.times, alpha: alpha, source: track.source, model: track.model)
    }

    /// The post-processed mixtures as flat arrays (what `ClipBuilder` maps).
    public func process(_ track: EmotionTrack) throws -> ProcessedEmotions {
        try validate()
        try ProcessedEmotions.checkTrack(track)
        var emotions = track.emotions
        let original = emotions.count
        if !emotions.contains(Self.neutralEmotion) { emotions.append(Self.neutralEmotion) }
        let k = emotions.count
        let neutral = emotions.firstIndex(of: Self.neutralEmotion)!
        let frames = track.frameCount
        var preferred: Int? = nil
        if let preferredEmotion, preferredStrength > 0 {
            guard let index = emotions.firstIndex(of: preferredEmotion) else {
                throw CurvesError(
                    "postProcessing.unknownEmotion",
                    "emotion post-processing: preferred emotion \"\(preferredEmotion)\" is not in the track (\(emotions.joined(separator: ", ")))")
            }
            preferred = index
        }
        var gain = [Double](repeating: 1, count: k)
        for (emotion, value) in gains {
            guard let index = emotions.firstIndex(of: emotion) else {
                throw CurvesError(
                    "postProcessing.unknownEmotion",
                    "emotion post-processing: gain for \"\(emotion)\", which is not in the track (\(emotions.joined(separator: ", ")))")
            }
            gain[index] = value
        }
        let useGains = gain.contains { $0 != 1 }

        var mixtures = [Double](repeating: 0, count: frames * k)
        var concentrations = [Double](repeating: 0, count: frames)
        var row = [Double](repeating: 0, count: k)
        var previousBlend = [Double](repeating: 0, count: k)
        var previousTransition = [Double](repeating: 0, count: k)
        var order = [Int](repeating: 0, count: k)
        let transitionDecay = transitionSmoothing > 0 ? -1 / transitionSmoothing : 0
        track.alpha.withUnsafeBufferPointer { alpha in
            for frame in 0..<frames {
                var total = 0.0
                for i in 0..<original { total += alpha[frame * original + i] }
                concentrations[frame] = total
                for i in 0..<original { row[i] = alpha[frame * original + i] / total }
                for i in original..<k { row[i] = 0 }

                if confidenceWeighting > 0 {
                    let w = total / (total + confidenceWeighting)
                    for i in 0..<k { row[i] *= w }
                    row[neutral] += 1 - w
                }
                if contrast != 1 {
                    var sum = 0.0
                    for i in 0..<k {
                        row[i] = row[i] > 0 ? pow(row[i], contrast) : 0
                        sum += row[i]
                    }
                    for i in 0..<k { row[i] /= sum }
                }
                if let maxEmotions, maxEmotions < k - 1 {
                    keepLargest(&row, count: maxEmotions, neutral: neutral, order: &order)
                }
                // Steps 4 and 5 are recursive: each feeds back its own previous output.
                if blendWithPrevious > 0 {
                    if frame > 0 {
                        for i in 0..<k { row[i] = (1 - blendWithPrevious) * row[i] + blendWithPrevious * previousBlend[i] }
                    }
                    for i in 0..<k { previousBlend[i] = row[i] }
                }
                if transitionSmoothing > 0 {
                    if frame > 0 {
                        let a = 1 - exp((track.times[frame] - track.times[frame - 1]) * transitionDecay)
                        for i in 0..<k { row[i] = previousTransition[i] + a * (row[i] - previousTransition[i]) }
                    }
                    for i in 0..<k { previousTransition[i] = row[i] }
                }
                if let preferred {
                    for i in 0..<k { row[i] *= 1 - preferredStrength }
                    row[preferred] += preferredStrength
                }
                if strength != 1 {
                    for i in 0..<k { row[i] *= strength }
                    row[neutral] += 1 - strength
                }
                if useGains {
                    var scaled = 0.0
                    for i in 0..<k where i != neutral {
                        row[i] *= gain[i]
                        scaled += row[i]
                    }
                    if scaled <= 1 {
                        row[neutral] = 1 - scaled
                    } else {
                        for i in 0..<k where i != neutral { row[i] /= scaled }
                        row[neutral] = 0
                    }
                }
                for i in 0..<k { mixtures[frame * k + i] = row[i] }
            }
        }
        return ProcessedEmotions(emotions: emotions, times: track.times, mixtures: mixtures, concentrations: concentrations)
    }

    /// Zeroes all but neutral and the `count` largest other shares, then renormalises.
    private func keepLargest(_ row: inout [Double], count: Int, neutral: Int, order: inout [Int]) {
        let k = row.count
        var candidates = 0
        for i in 0..<k where i != neutral {
            order[candidates] = i
            candidates += 1
        }
        // Insertion sort by share, descending; stable, so ties keep the track's emotion order.
        for a in 1..<max(candidates, 1) {
            let index = order[a]
            var b = a
            while b > 0 && row[order[b - 1]] < row[index] {
                order[b] = order[b - 1]
                b -= 1
            }
            order[b] = index
        }
        for rank in count..<candidates { row[order[rank]] = 0 }
        var sum = 0.0
        for i in 0..<k { sum += row[i] }
        if sum > 0 { for i in 0..<k { row[i] /= sum } }
    }
}

/// Post-processed emotion mixtures on the track's frames, flat and row-major.
public struct ProcessedEmotions: Sendable, Equatable {
    /// The track's emotions, plus `neutral` if it had none.
    public var emotions: [String]
    public var times: [Double]
    /// `times.count x emotions.count`, each row sums to 1.
    public var mixtures: [Double]
    /// The original concentration sum(alpha) of each frame.
    public var concentrations: [Double]

    public var frameCount: Int { times.count }

    /// Refuses what the track readers refuse, so that no bad track can crash the maths.
    static func checkTrack(_ track: EmotionTrack) throws {
        let name = track.source ?? "track"
        guard track.emotionCount > 0 else { throw CurvesError("track.empty", "\(name): the track has no emotions") }
        guard track.frameCount > 0 else { throw CurvesError("track.empty", "\(name): the track has no frames") }
        guard Set(track.emotions).count == track.emotionCount else {
            throw CurvesError("track.duplicateEmotion", "\(name): the track lists an emotion twice (\(track.emotions.joined(separator: ", ")))")
        }
        var previous = -Double.infinity
        for (frame, time) in track.times.enumerated() {
            guard time.isFinite, time >= 0, time > previous else {
                throw CurvesError("track.time", "\(name): frame \(frame): time \(time) is not finite, non-negative and increasing")
            }
            previous = time
        }
        for (index, value) in track.alpha.enumerated() where !(value.isFinite && value > 0) {
            throw CurvesError(
                "track.alpha",
                "\(name): frame \(index / track.emotionCount), emotion \(track.emotions[index % track.emotionCount]): alpha \(value) is not a finite positive number")
        }
    }
}
