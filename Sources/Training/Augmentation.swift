import Foundation
import Neural
import Recognition

/// Label-preserving augmentation in the feature domain, per clip and per batch.
public struct AugmentationSettings: Sendable, Equatable {
    /// Probability of using a perturbed-speed variant instead of the original.
    public var speedProbability = 0.5
    /// Gain drawn uniformly in +-gainDecibels (power scaled by 10^(g/10)).
    public var gainDecibels = 6.0
    /// Probability of adding white noise, at a signal-to-noise ratio drawn in `noiseSNR` dB.
    public var noiseProbability = 0.5
    public var noiseSNR: ClosedRange<Double> = 10...40
    /// SpecAugment-style masks: count and maximum width (mel bins / frames), set to 0 (the
    /// normalised mean).
    public var frequencyMasks = 2
    public var frequencyMaskWidth = 8
    public var timeMasks = 2
    public var timeMaskWidth = 25
    /// Random crops of at most this many frames (300 = 3 s).
    public var cropFrames = 300
    /// When below `cropFrames`, each augmented clip's crop length is drawn uniformly in
    /// minimumCropFrames...cropFrames (clips shorter than the draw stay whole), so that the
    /// model also learns from windows as short as sliding-window prediction uses. nil: fixed.
    public var minimumCropFrames: Int?

    public init() {}

    /// No augmentation at all (crops still apply).
    public static var none: AugmentationSettings {
        var settings = AugmentationSettings()
        settings.speedProbability = 0
        settings.gainDecibels = 0
        settings.noiseProbability = 0
        settings.frequencyMasks = 0
        settings.timeMasks = 0
        return settings
    }
}

/// A batch ready for the network.
public struct FeatureBatch {
    /// (1, N, mels, frames), zero-padded beyond each sample's valid frames.
    public var features: Variable
    public var validFrames: [Int]
    public var labels: [Int]
}

/// Turns feature-bank clips into augmented, normalised network inputs.
public struct BatchMaker {
    public let bank: FeatureBank
    public let extractor: LogMelExtractor
    public let augmentation: AugmentationSettings
    public let minimumFrames: Int
    /// sum of w^2 over the analysis window: the expected |X_k|^2 of unit-variance white noise.
    let windowEnergy: Float

    public init(bank: FeatureBank, extractor: LogMelExtractor, augmentation: AugmentationSettings, minimumFrames: Int) {
        self.bank = bank
        self.extractor = extractor
        self.augmentation = augmentation
        self.minimumFrames = minimumFrames
        let length = extractor.settings.windowLength
        var energy = 0.0
        for i in 0..<length {
            let w = 0.5 - 0.5 * cos(2 * Double.pi * Double(i) / Double(length))
            energy += w * w
        }
        windowEnergy = Float(energy)
    }

    /// One clip's normalised features (mels x frames) after augmentation.
    public func sample(_ index: Int, augment: Bool, random: inout SeededRandom) -> (values: [Float], frames: Int) {
        let clip = bank.clips[index]
        let mels = bank.melBins
        var variant = bank.speeds.firstIndex(of: 1) ?? 0
        if augment, bank.speeds.count > 1, random.uniform() < augmentation.speedProbability {
            let others = bank.speeds.indices.filter { $0 != variant }
            variant = others[random.below(others.count)]
        }
        let (allFrames, allPower) = clip.variants[variant]
        var frames = allFrames
        var start = 0
        var crop = augmentation.cropFrames
        if augment, let minimum = augmentation.minimumCropFrames, minimum < crop {
            crop = minimum + random.below(crop - minimum + 1)
        }
        if crop > 0, frames > crop {
            start = random.below(frames - crop + 1)
            frames = crop
        }
        var power = Array(allPower[(start * mels)..<((start + frames) * mels)])
        if augment {
            let gain = Float(pow(10, random.uniform(-augmentation.gainDecibels, augmentation.gainDecibels) / 10))
            if random.uniform() < augmentation.noiseProbability {
                let snr = random.uniform(augmentation.noiseSNR.lowerBound, augmentation.noiseSNR.upperBound)
                let variance = clip.signalPower / pow(10, snr / 10)
                addNoise(&power, frames: frames, binPower: Float(variance) * windowEnergy, random: &random)
            }
            for index in power.indices { power[index] *= gain }
        }
        var values = LogMelExtractor.normalised(power, frames: frames, melBins: mels, floor: Float(extractor.settings.logFloor))
        if augment {
            for _ in 0..<augmentation.frequencyMasks {
                let width = random.below(augmentation.frequencyMaskWidth + 1)
                let first = random.below(max(1, mels - width + 1))
                for m in first..<min(mels, first + width) { for t in 0..<frames { values[m * frames + t] = 0 } }
            }
            for _ in 0..<augmentation.timeMasks {
                let width = min(random.below(augmentation.timeMaskWidth + 1), frames / 2)
                let first = random.below(max(1, frames - width + 1))
                for m in 0..<mels { for t in first..<min(frames, first + width) { values[m * frames + t] = 0 } }
            }
        }
        return (values, frames)
    }

    /// White noise in the power domain: each FFT bin of each frame gets binPower * E with E
    /// exponential (|X_k|^2 of complex Gaussian noise), summed through the mel filters. The
    /// signal-noise cross term averages to zero and is left out.
    func addNoise(_ power: inout [Float], frames: Int, binPower: Float, random: inout SeededRandom) {
        let bins = extractor.binCount, mels = bank.melBins
        var noise = [Float](repeating: 0, count: frames * bins)
        for index in noise.indices { noise[index] = Float(random.exponential()) * binPower }
        noise.withUnsafeBufferPointer { n in
            extractor.filterBank.withUnsafeBufferPointer { f in
                power.withUnsafeMutableBufferPointer { p in
                    // power += (frames, bins) x (bins, mels)
                    AutogradKernels.gemm(
                        n.baseAddress!, lda: bins, f.baseAddress!, ldb: mels, p.baseAddress!, ldc: mels, m: frames, n: mels, k: bins,
                        beta: 1)
                }
            }
        }
    }

    /// A batch of clips, padded to the longest (at least `minimumFrames`).
    public func batch(_ indices: [Int], augment: Bool, random: inout SeededRandom) -> FeatureBatch {
        let samples = indices.map { sample($0, augment: augment, random: &random) }
        let mels = bank.melBins
        let width = max(minimumFrames, samples.map(\.frames).max() ?? 0)
        let count = indices.count
        var values = [Float](repeating: 0, count: count * mels * width)
        for (n, sample) in samples.enumerated() {
            for m in 0..<mels {
                let destination = (n * mels + m) * width
                for t in 0..<sample.frames { values[destination + t] = sample.values[m * sample.frames + t] }
            }
        }
        return FeatureBatch(
            features: Variable(shape: [1, count, mels, width], value: values), validFrames: samples.map(\.frames),
            labels: indices.map { bank.clips[$0].label })
    }
}
