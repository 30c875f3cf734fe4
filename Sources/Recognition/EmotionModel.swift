import Common
import EmotionCore
import Foundation

/// A model that hears emotion in a window of 16 kHz mono audio. Every architecture
/// (Hugging Face wav2vec2 checkpoints, our compact model, sequence models) conforms; the
/// sliding-window predictor and the batch tool only see this protocol.
public protocol EmotionModel: AnyObject {
    /// Emotion names in output order (from the model's config.json).
    var emotions: [String] { get }
    /// The sample rate the model expects (16000 for every model here).
    var sampleRate: Int { get }
    /// A short identifier for manifests and track metadata, e.g. "emobake-compact-v1".
    var identifier: String { get }
    /// Dirichlet parameters (alpha > 0, one per emotion) for one window of samples.
    /// Models whose head gives logits report softmax(logits) scaled to a fixed
    /// concentration, so that the mixture is their probability vector.
    func alpha(for samples: ArraySlice<Float>) throws -> [Double]
    /// The sliding-window length (seconds) the model hears best, used when none is given;
    /// nil for `SlidingWindowPredictor.defaultWindow`.
    var preferredWindow: Double? { get }
}

extension EmotionModel {
    public var preferredWindow: Double? { nil }
}

/// Errors loading or running models; messages name the model file and the tensor or field.
public struct RecognitionError: EmoBakeError {
    public let code: String
    public let message: String
    public init(_ code: String, _ message: String) {
        self.code = code
        self.message = message
    }
}
