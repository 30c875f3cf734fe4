import AudioIO
import Foundation
import Neural
import Recognition

/// Mel power spectra of every training clip, computed once before training, for each speed
/// variant (speed perturbation cannot be done on features without distorting them, so a
/// few variants are precomputed). Everything else (crop, gain, noise, masks) is applied per
/// batch in the feature domain, which costs far less than recomputing spectra.
public final class FeatureBank: @unchecked Sendable {
    public struct Clip: Sendable {
        public var label: Int
        /// Mel power (not logged), frames x mels row-major, one per speed in `speeds`.
        public var variants: [(frames: Int, power: [Float])]
        /// Mean square of the trimmed audio (for noise at a given signal-to-noise ratio).
        public var signalPower: Double
    }

    public let speeds: [Double]
    public let clips: [Clip]
    public let melBins: Int

    init(speeds: [Double], clips: [Clip], melBins: Int) {
        self.speeds = speeds
        self.clips = clips
        self.melBins = melBins
    }

    /// Decodes, trims and analyses every clip (in parallel over `threads`); errors name the file.
    /// `progress(done, total)` is called from the calling thread's point of view after each chunk.
    public static func build(
        _ labelled: [LabelledClip], extractor: LogMelExtractor, speeds: [Double], threads: Int,
        progress: ((Int, Int) -> Void)? = nil
    ) throws -> FeatureBank {
        var results = [Clip?](repeating: nil, count: labelled.count)
        var firstError: (Int, Error)?
        let lock = NSLock()
        let chunk = 16
        var done = 0
        while done < labelled.count {
            let range = done..<min(labelled.count, done + chunk * max(1, threads))
            DispatchQueue.concurrentPerform(iterations: max(1, threads)) { worker in
                var index = range.lowerBound + worker
                while index < range.upperBound {
                    do {
                        let clip = try analyse(labelled[index], extractor: extractor, speeds: speeds)
                        lock.lock()
                        results[index] = clip
                        lock.unlock()
                    } catch {
                        lock.lock()
                        if firstError == nil || firstError!.0 > index { firstError = (index, error) }
                        lock.unlock()
                    }
                    index += max(1, threads)
                }
            }
            if let firstError { throw firstError.1 }
            done = range.upperBound
            progress?(done, labelled.count)
        }
        return FeatureBank(speeds: speeds, clips: results.map { $0! }, melBins: extractor.settings.melBins)
    }

    /// A bank from audio already in memory (16 kHz mono samples and a label per clip).
    public static func build(audio: [(samples: [Float], label: Int)], extractor: LogMelExtractor, speeds: [Double]) -> FeatureBank {
        FeatureBank(
            speeds: speeds, clips: audio.map { analyse(samples: $0.samples, label: $0.label, extractor: extractor, speeds: speeds) },
            melBins: extractor.settings.melBins)
    }

    static func analyse(_ clip: LabelledClip, extractor: LogMelExtractor, speeds: [Double]) throws -> Clip {
        let audio = try AudioDecoder.read(clip.url, targetRate: extractor.settings.sampleRate)
        return analyse(samples: audio.samples, label: clip.label, extractor: extractor, speeds: speeds)
    }

    static func analyse(samples: [Float], label: Int, extractor: LogMelExtractor, speeds: [Double]) -> Clip {
        let kept = Array(samples[extractor.speechRange(samples[...])])
        var squares = 0.0
        for sample in kept { squares += Double(sample) * Double(sample) }
        let variants = speeds.map { speed -> (frames: Int, power: [Float]) in
            let perturbed = SpeedPerturbation.apply(kept, factor: speed)
            let (frames, power) = extractor.melPower(perturbed[...])
            return (frames, power)
        }
        return Clip(label: label, variants: variants, signalPower: squares / Double(max(1, kept.count)))
    }
}
