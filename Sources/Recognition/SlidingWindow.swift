import AudioIO
import EmotionCore
import Foundation

/// Runs an `EmotionModel` over audio of any length in overlapping windows and collects an
/// `EmotionTrack`: one frame per window, at the window's centre.
///
/// Windows start at 0, hop, 2 hop, ... while they fit; when the last one stops short of the
/// end, one more window is aligned to the end so the tail is heard. A clip no longer than one
/// window gives one frame for the whole clip, at its centre.
public struct SlidingWindowPredictor: Sendable {
    /// Seconds of audio per window.
    public var window: Double
    /// Seconds between window starts.
    public var hop: Double

    public static let defaultWindow = 1.0
    public static let defaultHop = 0.25

    /// The window to use with a model when none is given: the model's preferred one, else 1 s.
    public static func defaultWindow(for model: any EmotionModel) -> Double {
        model.preferredWindow ?? defaultWindow
    }

    public init(window: Double = SlidingWindowPredictor.defaultWindow, hop: Double = SlidingWindowPredictor.defaultHop) {
        self.window = window
        self.hop = hop
    }

    /// Window and hop in samples at `rate`; refuses non-positive or non-finite settings.
    func samples(rate: Int) throws -> (window: Int, hop: Int) {
        guard window.isFinite, window > 0, hop.isFinite, hop > 0 else {
            throw RecognitionError("window.invalid", "window (\(window) s) and hop (\(hop) s) must be positive numbers of seconds")
        }
        let windowSamples = Int((window * Double(rate)).rounded())
        let hopSamples = Int((hop * Double(rate)).rounded())
        guard windowSamples >= 1, hopSamples >= 1 else {
            throw RecognitionError("window.invalid", "window (\(window) s) and hop (\(hop) s) are shorter than one sample at \(rate) Hz")
        }
        return (windowSamples, hopSamples)
    }

    /// Predicts a track for a decoded clip (`audio.sampleRate` must be the model's rate).
    public func predict(_ audio: AudioBuffer, model: any EmotionModel, source: String) throws -> EmotionTrack {
        guard audio.sampleRate == model.sampleRate else {
            throw RecognitionError("window.sampleRate", "\(source): audio is at \(audio.sampleRate) Hz, the model hears \(model.sampleRate) Hz")
        }
        var collector = try Collector(predictor: self, model: model, source: source)
        try collector.append(audio.samples[...])
        return try collector.finish()
    }

    /// Predicts a track while decoding: memory holds one window and one block, whatever the length.
    /// `progress` is called after each decoded block with the seconds of audio heard so far.
    public func predict(
        _ stream: AudioStream, model: any EmotionModel, source: String, progress: ((Double) -> Void)? = nil
    ) throws -> EmotionTrack {
        guard stream.sampleRate == model.sampleRate else {
            throw RecognitionError("window.sampleRate", "\(source): audio is at \(stream.sampleRate) Hz, the model hears \(model.sampleRate) Hz")
        }
        var collector = try Collector(predictor: self, model: model, source: source)
        while let block = try stream.next() {
            try collector.append(block[...])
            progress?(Double(stream.samplesDelivered) / Double(stream.sampleRate))
        }
        return try collector.finish()
    }

    /// Keeps the samples still needed (the last window's worth) and runs every window that is complete.
    struct Collector {
        let model: any EmotionModel
        let source: String
        let rate: Int
        let windowSamples: Int
        let hopSamples: Int
        /// Samples from absolute index `bufferStart` on.
        var buffer: [Float] = []
        var bufferStart = 0
        var nextStart = 0
        var lastStart = -1
        var times: [Double] = []
        var alpha: [Double] = []

        init(predictor: SlidingWindowPredictor, model: any EmotionModel, source: String) throws {
            self.model = model
            self.source = source
            rate = model.sampleRate
            (windowSamples, hopSamples) = try predictor.samples(rate: rate)
        }

        var bufferEnd: Int { bufferStart + buffer.count }

        mutating func append(_ samples: ArraySlice<Float>) throws {
            buffer.append(contentsOf: samples)
            while nextStart + windowSamples <= bufferEnd {
                try run(start: nextStart, count: windowSamples)
                nextStart += hopSamples
            }
            // Keep what a later window (or the end-aligned last one) may still read.
            let keepFrom = min(nextStart, bufferEnd - windowSamples)
            if keepFrom > bufferStart {
                buffer.removeFirst(keepFrom - bufferStart)
                bufferStart = keepFrom
            }
        }

        mutating func finish() throws -> EmotionTrack {
            let total = bufferEnd
            guard total > 0 else { throw RecognitionError("window.empty", "\(source): no audio samples") }
            if lastStart < 0 {
                // Never a full window: the whole clip is the one window.
                try run(start: 0, count: total)
            } else if lastStart + windowSamples < total {
                try run(start: total - windowSamples, count: windowSamples)
            }
            return EmotionTrack(emotions: model.emotions, times: times, alpha: alpha, source: source, model: model.identifier)
        }

        mutating func run(start: Int, count: Int) throws {
            let from = start - bufferStart
            let values = try model.alpha(for: buffer[from..<(from + count)])
            let time = (Double(start) + Double(count) / 2) / Double(rate)
            guard values.count == model.emotions.count, values.allSatisfy({ $0.isFinite && $0 > 0 }) else {
                throw RecognitionError(
                    "window.badOutput",
                    "\(source): the model gave \(values.count) alpha values for \(model.emotions.count) emotions, or a value that is not positive and finite, at \(String(format: "%.3f", time)) s")
            }
            times.append(time)
            // Models compute in Float: keep the shortest decimal of that Float, not Double noise
            // past its precision, so track files are short and stable.
            alpha += values.map { Double(Float($0).description) ?? $0 }
            lastStart = start
        }
    }
}
