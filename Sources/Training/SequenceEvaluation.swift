import EmotionCore
import Foundation

/// Comparing a predicted emotion track with the ground truth of a synthetic dialogue.
///
/// Mixture MAE (the paper's figure, lower is better): the mean over the truth's frames and
/// the K emotions of |m_pred(t) - m_true(t)|, with m = alpha / sum(alpha). The prediction is
/// read at each truth frame's time by linear interpolation of its mixtures between its own
/// frames (held constant before its first and after its last frame), so predictions at any
/// frame rate (sliding windows every 0.25 s, a sequence model at 25 fps) are scored on the
/// same grid. A perfect prediction scores 0; the even blend scores 2 (K - 1) / K^2 against a
/// one-hot truth (0.245 for K = 7).
public enum MixtureError {
    /// Mixture rows (K values each) of `track` at `times`, linearly interpolated.
    public static func mixtures(of track: EmotionTrack, at times: [Double]) -> [[Double]] {
        precondition(track.frameCount > 0, "MixtureError: empty track")
        let k = track.emotionCount
        let all = track.mixtures
        func row(_ frame: Int) -> ArraySlice<Double> { all[(frame * k)..<((frame + 1) * k)] }
        var result: [[Double]] = []
        result.reserveCapacity(times.count)
        var segment = 0
        for time in times {
            if time <= track.times[0] || track.frameCount == 1 {
                result.append(Array(row(0)))
                continue
            }
            if time >= track.times[track.frameCount - 1] {
                result.append(Array(row(track.frameCount - 1)))
                continue
            }
            // Times are usually increasing: walk forward; restart when they are not.
            if track.times[segment] > time { segment = 0 }
            while track.times[segment + 1] < time { segment += 1 }
            let (t0, t1) = (track.times[segment], track.times[segment + 1])
            let w = (time - t0) / (t1 - t0)
            let a = row(segment), b = row(segment + 1)
            result.append((0..<k).map { (1 - w) * a[a.startIndex + $0] + w * b[b.startIndex + $0] })
        }
        return result
    }

    /// Sum over frames and emotions of |m_pred - m_true| and the number of values summed, so
    /// that many clips pool into one mean. Emotions are matched by name; both tracks must
    /// have the same emotion set.
    public static func absoluteErrorSum(prediction: EmotionTrack, truth: EmotionTrack) throws -> (sum: Double, count: Int) {
        guard Set(prediction.emotions) == Set(truth.emotions), prediction.emotionCount == truth.emotionCount else {
            throw TrainingError(
                "evaluation.emotions",
                "\(prediction.source ?? "prediction"): emotions \(prediction.emotions) do not match the ground truth's \(truth.emotions)")
        }
        let order = truth.emotions.map { prediction.emotions.firstIndex(of: $0)! }
        let predicted = mixtures(of: prediction, at: truth.times)
        let trueMixtures = truth.mixtures
        let k = truth.emotionCount
        var sum = 0.0
        for frame in 0..<truth.frameCount {
            for i in 0..<k { sum += abs(predicted[frame][order[i]] - trueMixtures[frame * k + i]) }
        }
        return (sum, truth.frameCount * k)
    }

    /// Mixture MAE of one prediction against its truth.
    public static func meanAbsoluteError(prediction: EmotionTrack, truth: EmotionTrack) throws -> Double {
        let (sum, count) = try absoluteErrorSum(prediction: prediction, truth: truth)
        return sum / Double(count)
    }
}
