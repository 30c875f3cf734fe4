import AudioIO
import Foundation
import Recognition

/// Scores any `EmotionModel` on labelled clips: each clip is one window, the whole clip.
public enum ClassifierEvaluation {
    /// Clips' labels must index `model.emotions` (load them with the model's emotion list).
    /// With `window` (seconds), each clip is scored on its centre window of that length (the
    /// whole clip when shorter), as a sliding-window run sees it. `progress(done, total)` is
    /// called after each clip.
    public static func evaluate(
        model: any EmotionModel, clips: [LabelledClip], window: Double? = nil, progress: ((Int, Int) -> Void)? = nil
    ) throws -> (metrics: ClassifierMetrics, alphas: [[Double]]) {
        guard !clips.isEmpty else { throw TrainingError("eval.empty", "no clips to evaluate") }
        var alphas: [[Double]] = []
        alphas.reserveCapacity(clips.count)
        for (index, clip) in clips.enumerated() {
            let audio = try AudioDecoder.read(clip.url, targetRate: model.sampleRate)
            var samples = audio.samples[...]
            if let window {
                let length = Int(window * Double(model.sampleRate))
                if length < samples.count {
                    let start = (samples.count - length) / 2
                    samples = samples[start..<(start + length)]
                }
            }
            let alpha = try model.alpha(for: samples)
            guard alpha.count == model.emotions.count, alpha.allSatisfy({ $0 > 0 && $0.isFinite }) else {
                throw TrainingError("eval.model", "\(clip.url.path): the model gave \(alpha.count) values, some not positive and finite")
            }
            alphas.append(alpha)
            progress?(index + 1, clips.count)
        }
        return (ClassifierMetrics(alphas: alphas, labels: clips.map(\.label), emotions: model.emotions), alphas)
    }
}
