import EmotionCore
import Foundation
import Neural

/// Ways to turn a model's emotion track into a different but plausible candidate sequence,
/// for people (or the simulated annotator) to compare in pairs (Stage 3).
public enum CandidateKind: Sendable, Equatable, CustomStringConvertible {
    /// The model's mixture, alpha / sum(alpha), as it is.
    case mean
    /// The mixture raised to 1/T and renormalised per frame: T < 1 sharpens (the dominant
    /// emotion stronger), T > 1 flattens toward an even blend.
    case temperature(Double)
    /// A draw from each keyframe's Dirichlet(alpha), keyframes `spacing` seconds apart, with
    /// the mixture interpolated linearly between them (so the candidate moves smoothly, as an
    /// animation would, instead of flickering frame to frame). The spread follows the model's
    /// own confidence: a low concentration gives draws far from the mean.
    case dirichletSample(spacing: Double)
    /// A Stage 1 model over sliding windows of this many seconds (another temporal
    /// resolution): the caller supplies its track, read here at the model track's frames.
    case window(Double)

    public var description: String {
        switch self {
        case .mean: return "mean"
        case .temperature(let t): return "temperature:\(t)"
        case .dirichletSample(let spacing): return "sample:\(spacing)"
        case .window(let seconds): return "window:\(seconds)"
        }
    }

    /// Parses "mean", "temperature:0.5", "sample", "sample:0.5" (seconds between keyframes)
    /// or "window:1.4" (seconds per window).
    public static func parse(_ text: String) -> CandidateKind? {
        let parts = text.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
        switch parts.first ?? "" {
        case "mean" where parts.count == 1: return .mean
        case "temperature":
            guard parts.count == 2, let t = Double(parts[1]), t.isFinite, t > 0.01, t < 100 else { return nil }
            return .temperature(t)
        case "sample":
            if parts.count == 1 { return .dirichletSample(spacing: 0.5) }
            guard let spacing = Double(parts[1]), spacing.isFinite, spacing > 0, spacing <= 60 else { return nil }
            return .dirichletSample(spacing: spacing)
        case "window":
            guard parts.count == 2, let seconds = Double(parts[1]), seconds.isFinite, seconds > 0, seconds <= 30 else { return nil }
            return .window(seconds)
        default: return nil
        }
    }
}

/// Makes several candidate sequences per clip from one predicted track (default 5: the
/// mean, a sharper and a flatter version, two smooth Dirichlet draws). Seeded: the same
/// seed, clip key and track give the same candidates.
///
/// Every candidate is a point on the open simplex per frame (components at least
/// `Dirichlet.minimumTarget`), so its Dirichlet log-likelihood under any model is finite.
/// Candidates are stored as tracks with alpha = mixture * the source frame's concentration.
public struct CandidateGenerator: Sendable {
    public static let defaultKinds: [CandidateKind] = [
        .mean, .temperature(0.5), .temperature(2), .dirichletSample(spacing: 0.5), .dirichletSample(spacing: 0.5),
    ]

    public var kinds: [CandidateKind]
    public var seed: UInt64

    public init(kinds: [CandidateKind] = CandidateGenerator.defaultKinds, seed: UInt64 = 1) {
        self.kinds = kinds
        self.seed = seed
    }

    /// The window lengths of the `.window` kinds: the caller predicts those tracks.
    public var windowLengths: [Double] {
        kinds.compactMap { if case .window(let seconds) = $0 { return seconds } else { return nil } }
    }

    /// One candidate per kind, in order. `key` (for example the clip's index) separates the
    /// random streams of different clips. `windowTracks` holds a track per `.window` length
    /// (same emotions as `track`).
    public func candidates(from track: EmotionTrack, key: UInt64, windowTracks: [Double: EmotionTrack] = [:]) -> [EmotionTrack] {
        var random = SeededRandom(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ key)
        return kinds.map { kind in candidate(kind, from: track, random: &random, windowTracks: windowTracks) }
    }

    func candidate(_ kind: CandidateKind, from track: EmotionTrack, random: inout SeededRandom, windowTracks: [Double: EmotionTrack]) -> EmotionTrack {
        let k = track.emotionCount
        let mixtures = track.mixtures
        var rows = [Double](repeating: 0, count: mixtures.count)
        switch kind {
        case .window(let seconds):
            guard let other = windowTracks[seconds] else { preconditionFailure("CandidateGenerator: no track for window:\(seconds)") }
            let order = track.emotions.map { other.emotions.firstIndex(of: $0)! }
            rows = MixtureError.mixtures(of: other, at: track.times).flatMap { row in order.map { row[$0] } }
        case .mean:
            rows = mixtures
        case .temperature(let temperature):
            for frame in 0..<track.frameCount {
                var total = 0.0
                for i in 0..<k {
                    let value = pow(mixtures[frame * k + i], 1 / temperature)
                    rows[frame * k + i] = value
                    total += value
                }
                for i in 0..<k { rows[frame * k + i] /= total }
            }
        case .dirichletSample(let spacing):
            // Keyframes at 0, spacing, 2 spacing, ... and at the last frame's time.
            let start = track.times.first ?? 0, end = track.duration
            var keyTimes: [Double] = []
            var t = start
            while t < end - 1e-9 {
                keyTimes.append(t)
                t += spacing
            }
            keyTimes.append(end)
            let keyRows = keyTimes.map { time -> [Double] in
                let frame = Self.nearestFrame(track.times, time)
                return Self.sampleDirichlet(Array(track.alpha(frame: frame)), random: &random)
            }
            var segment = 0
            for frame in 0..<track.frameCount {
                let time = track.times[frame]
                while segment + 1 < keyTimes.count - 1 && time > keyTimes[segment + 1] { segment += 1 }
                let row: [Double]
                if keyTimes.count == 1 {
                    row = keyRows[0]
                } else {
                    let (t0, t1) = (keyTimes[segment], keyTimes[segment + 1])
                    let w = t1 > t0 ? min(1, max(0, (time - t0) / (t1 - t0))) : 0
                    row = (0..<k).map { (1 - w) * keyRows[segment][$0] + w * keyRows[segment + 1][$0] }
                }
                for i in 0..<k { rows[frame * k + i] = row[i] }
            }
        }
        var alpha = [Double](repeating: 0, count: rows.count)
        for frame in 0..<track.frameCount {
            let interior = Dirichlet.smoothedTarget(Array(rows[(frame * k)..<((frame + 1) * k)]), epsilon: 0)
            let concentration = track.concentration(frame: frame)
            for i in 0..<k { alpha[frame * k + i] = interior[i] * concentration }
        }
        return EmotionTrack(
            emotions: track.emotions, times: track.times, alpha: alpha, source: track.source,
            model: "\(track.model ?? "model") candidate \(kind)")
    }

    static func nearestFrame(_ times: [Double], _ time: Double) -> Int {
        var low = 0, high = times.count - 1
        while low < high {
            let middle = (low + high) / 2
            if times[middle] < time { low = middle + 1 } else { high = middle }
        }
        if low > 0 && abs(times[low - 1] - time) <= abs(times[low] - time) { return low - 1 }
        return low
    }

    /// A draw from Dirichlet(alpha): independent Gamma(alpha_i, 1) draws, normalised.
    public static func sampleDirichlet(_ alpha: [Double], random: inout SeededRandom) -> [Double] {
        let draws = alpha.map { sampleGamma(shape: $0, random: &random) }
        let total = draws.reduce(0, +)
        guard total > 0, total.isFinite else {
            // Every draw underflowed (all alpha tiny): the mean is the sensible answer.
            let sum = alpha.reduce(0, +)
            return alpha.map { $0 / sum }
        }
        return draws.map { $0 / total }
    }

    /// Gamma(shape, 1) by Marsaglia and Tsang (2000): for shape >= 1, d = shape - 1/3,
    /// c = 1 / sqrt(9 d); draw x ~ N(0, 1), v = (1 + c x)^3, accept d v when
    /// log u < x^2 / 2 + d - d v + d log v. For shape < 1, Gamma(shape + 1) * u^(1/shape).
    public static func sampleGamma(shape: Double, random: inout SeededRandom) -> Double {
        precondition(shape > 0 && shape.isFinite, "sampleGamma: shape must be positive")
        if shape < 1 {
            let u = max(random.uniform(), 1e-300)
            return sampleGamma(shape: shape + 1, random: &random) * pow(u, 1 / shape)
        }
        let d = shape - 1.0 / 3
        let c = 1 / (9 * d).squareRoot()
        while true {
            let x = random.normal()
            let base = 1 + c * x
            guard base > 0 else { continue }
            let v = base * base * base
            let u = max(random.uniform(), 1e-300)
            if log(u) < 0.5 * x * x + d - d * v + d * log(v) { return d * v }
        }
    }
}
