import Foundation
import Neural

/// Settings of the log-mel front end of the compact model (all in config.json "features").
public struct LogMelSettings: Sendable, Equatable {
    public var sampleRate = 16_000
    /// FFT length in samples; the window is centred inside it (zero elsewhere), as torch.stft.
    public var fftSize = 512
    /// Hann window length in samples (25 ms).
    public var windowLength = 400
    /// Samples between frames (10 ms).
    public var hopLength = 160
    public var melBins = 64
    public var minimumFrequency = 20.0
    public var maximumFrequency = 8000.0
    /// log(power + floor).
    public var logFloor = 1e-6
    /// Leading/trailing frames quieter than this many dB below the loudest frame are trimmed
    /// (0 disables trimming).
    public var trimDecibels = 40.0
    /// Audio kept around the loud part when trimming, in seconds.
    public var trimMargin = 0.15

    public init() {}
}

/// Log-mel spectrogram, the compact model's input.
///
/// Frames follow `torch.stft(center=True, pad_mode="reflect")`: the signal is reflect-padded
/// by fftSize/2 on both sides, frame t starts at t * hop, and a periodic Hann window of
/// `windowLength` sits in the middle of the fftSize-sample frame. Frames = 1 + samples / hop.
/// Power |X_k|^2 of bins 0...fftSize/2 goes through an HTK mel filter bank (triangles, peak 1,
/// no area normalisation: torchaudio's `melscale_fbanks(norm=None, mel_scale="htk")`), and the
/// result is log(power + floor). Clips shorter than fftSize/2 + 1 samples are zero-padded
/// first (reflection needs that many).
public final class LogMelExtractor: Sendable {
    public let settings: LogMelSettings
    /// Periodic Hann window placed in an fftSize frame.
    let window: [Float]
    /// (bins, melBins), row-major, bins = fftSize/2 + 1.
    public let filterBank: [Float]
    public var binCount: Int { settings.fftSize / 2 + 1 }
    private let fft: RealFFT

    public init(settings: LogMelSettings = LogMelSettings()) {
        self.settings = settings
        let n = settings.fftSize
        var window = [Float](repeating: 0, count: n)
        let offset = (n - settings.windowLength) / 2
        for i in 0..<settings.windowLength {
            window[offset + i] = Float(0.5 - 0.5 * cos(2 * Double.pi * Double(i) / Double(settings.windowLength)))
        }
        self.window = window
        filterBank = LogMelExtractor.melFilterBank(settings)
        fft = RealFFT(size: n)
    }

    /// HTK mel scale: mel = 2595 log10(1 + f / 700).
    static func mel(_ frequency: Double) -> Double { 2595 * log10(1 + frequency / 700) }
    static func hertz(_ mel: Double) -> Double { 700 * (pow(10, mel / 2595) - 1) }

    /// Triangular filters between mel-spaced edges, evaluated at the FFT bin frequencies.
    static func melFilterBank(_ settings: LogMelSettings) -> [Float] {
        let bins = settings.fftSize / 2 + 1
        let melCount = settings.melBins
        let low = mel(settings.minimumFrequency), high = mel(settings.maximumFrequency)
        let edges = (0..<(melCount + 2)).map { hertz(low + (high - low) * Double($0) / Double(melCount + 1)) }
        var bank = [Float](repeating: 0, count: bins * melCount)
        for k in 0..<bins {
            let frequency = Double(settings.sampleRate) / 2 * Double(k) / Double(bins - 1)
            for m in 0..<melCount {
                let down = (frequency - edges[m]) / (edges[m + 1] - edges[m])
                let up = (edges[m + 2] - frequency) / (edges[m + 2] - edges[m + 1])
                bank[k * melCount + m] = Float(max(0, min(down, up)))
            }
        }
        return bank
    }

    /// The number of frames for a clip of `samples` samples.
    public func frameCount(samples: Int) -> Int { 1 + max(samples, settings.fftSize / 2 + 1) / settings.hopLength }

    /// Mel power (not yet logged), frames x melBins row-major.
    public func melPower(_ samples: ArraySlice<Float>) -> (frames: Int, values: [Float]) {
        let n = settings.fftSize, half = n / 2, hop = settings.hopLength
        var signal = Array(samples)
        if signal.count < half + 1 { signal += [Float](repeating: 0, count: half + 1 - signal.count) }
        let length = signal.count
        // Reflect padding: padded[i] = signal[reflect(i - half)].
        var padded = [Float](repeating: 0, count: length + 2 * half)
        for i in 0..<padded.count {
            var j = i - half
            if j < 0 { j = -j }
            if j >= length { j = 2 * (length - 1) - j }
            padded[i] = signal[j]
        }
        let frames = 1 + length / hop
        let bins = binCount
        var power = [Float](repeating: 0, count: frames * bins)
        // frame (n) | real (bins) | imaginary (bins) | FFT scratch (n)
        var scratch = [Float](repeating: 0, count: 2 * n + 2 * bins)
        padded.withUnsafeBufferPointer { paddedBuffer in
            window.withUnsafeBufferPointer { windowBuffer in
                scratch.withUnsafeMutableBufferPointer { scratchBuffer in
                    power.withUnsafeMutableBufferPointer { powerBuffer in
                        let frame = scratchBuffer.baseAddress!
                        let real = frame + n, imaginary = real + bins, work = imaginary + bins
                        for t in 0..<frames {
                            let source = paddedBuffer.baseAddress! + t * hop
                            for i in 0..<n { frame[i] = source[i] * windowBuffer[i] }
                            fft.forward(frame, real: real, imaginary: imaginary, scratch: work)
                            let row = powerBuffer.baseAddress! + t * bins
                            for k in 0..<bins { row[k] = real[k] * real[k] + imaginary[k] * imaginary[k] }
                        }
                    }
                }
            }
        }
        var mel = [Float](repeating: 0, count: frames * settings.melBins)
        power.withUnsafeBufferPointer { p in
            filterBank.withUnsafeBufferPointer { f in
                mel.withUnsafeMutableBufferPointer { m in
                    // (frames, bins) x (bins, mels)
                    AutogradKernels.gemm(
                        p.baseAddress!, lda: bins, f.baseAddress!, ldb: settings.melBins, m.baseAddress!, ldc: settings.melBins,
                        m: frames, n: settings.melBins, k: bins)
                }
            }
        }
        return (frames, mel)
    }

    /// The part of a clip to keep: frames (25 ms long, 10 ms apart) whose mean square is
    /// within `trimDecibels` of the loudest frame mark the speech; `trimMargin` seconds are
    /// kept on each side. All of it when trimming is off or the clip is silent.
    public func speechRange(_ samples: ArraySlice<Float>) -> Range<Int> {
        let start = samples.startIndex
        guard settings.trimDecibels > 0, samples.count > settings.windowLength else { return start..<samples.endIndex }
        let length = settings.windowLength, hop = settings.hopLength
        let frames = 1 + (samples.count - length) / hop
        var energies = [Double](repeating: 0, count: frames)
        samples.withContiguousStorageIfAvailable { buffer in
            for t in 0..<frames {
                var sum = 0.0
                for i in (t * hop)..<(t * hop + length) { sum += Double(buffer[i]) * Double(buffer[i]) }
                energies[t] = sum / Double(length)
            }
        }
        let loudest = energies.max() ?? 0
        guard loudest > 0 else { return start..<samples.endIndex }
        let threshold = loudest * pow(10, -settings.trimDecibels / 10)
        let first = energies.firstIndex { $0 >= threshold }!
        let last = energies.lastIndex { $0 >= threshold }!
        let margin = Int((settings.trimMargin * Double(settings.sampleRate)).rounded())
        let lower = max(0, first * hop - margin)
        let upper = min(samples.count, last * hop + length + margin)
        return (start + lower)..<(start + upper)
    }

    /// Trimmed, logged and normalised features, melBins x frames row-major (mel rows, time
    /// columns: the layout the network reads). Each mel bin is normalised over the clip's
    /// frames to mean 0 and standard deviation 1: x = (x - mean) / (std + 1e-5).
    public func features(_ samples: ArraySlice<Float>) -> (frames: Int, values: [Float]) {
        let kept = samples[speechRange(samples)]
        let (frames, power) = melPower(kept)
        return (frames, LogMelExtractor.normalised(power, frames: frames, melBins: settings.melBins, floor: Float(settings.logFloor)))
    }

    /// log(power + floor) of frames x mels, normalised per mel bin, transposed to mels x frames.
    public static func normalised(_ power: [Float], frames: Int, melBins: Int, floor: Float) -> [Float] {
        var output = [Float](repeating: 0, count: frames * melBins)
        for m in 0..<melBins {
            var sum = 0.0
            for t in 0..<frames {
                let value = log(power[t * melBins + m] + floor)
                output[m * frames + t] = value
                sum += Double(value)
            }
            let mean = sum / Double(frames)
            var squares = 0.0
            for t in 0..<frames {
                let d = Double(output[m * frames + t]) - mean
                squares += d * d
            }
            let scale = Float(1 / ((squares / Double(frames)).squareRoot() + 1e-5))
            for t in 0..<frames { output[m * frames + t] = (output[m * frames + t] - Float(mean)) * scale }
        }
        return output
    }
}

/// Radix-2 FFT of a real frame (size a power of two), through a complex FFT of half the size:
/// z_j = x_2j + i x_2j+1, Z = FFT(z), then X_k = E_k + W^k O_k with
/// E_k = (Z_k + conj Z_{N/2-k}) / 2 and O_k = -i (Z_k - conj Z_{N/2-k}) / 2, W = e^{-2 pi i / N}.
/// Immutable tables only: one instance serves many threads; scratch is the caller's.
final class RealFFT: Sendable {
    let size: Int
    private let half: Int
    private let cosines: [Float], sines: [Float]  // twiddles e^{-2 pi i k / size}, k < size/2
    private let bitReversed: [Int]

    init(size: Int) {
        precondition(size >= 4 && size & (size - 1) == 0, "RealFFT: size must be a power of two")
        self.size = size
        half = size / 2
        cosines = (0..<half).map { Float(cos(-2 * Double.pi * Double($0) / Double(size))) }
        sines = (0..<half).map { Float(sin(-2 * Double.pi * Double($0) / Double(size))) }
        var bits = 0
        while (1 << bits) < half { bits += 1 }
        bitReversed = (0..<half).map { index in
            var reversed = 0
            for b in 0..<bits where index & (1 << b) != 0 { reversed |= 1 << (bits - 1 - b) }
            return reversed
        }
    }

    /// Bins 0...size/2 of the DFT of `input` (size values) into real/imaginary (size/2 + 1
    /// each); `scratch` holds at least `size` floats.
    func forward(
        _ input: UnsafePointer<Float>, real: UnsafeMutablePointer<Float>, imaginary: UnsafeMutablePointer<Float>,
        scratch: UnsafeMutablePointer<Float>
    ) {
        let half = self.half
        let zr = scratch, zi = scratch + half
        cosines.withUnsafeBufferPointer { cosinesBuffer in
            sines.withUnsafeBufferPointer { sinesBuffer in
                bitReversed.withUnsafeBufferPointer { reversedBuffer in
                    let (cs, sn, rv) = (cosinesBuffer.baseAddress!, sinesBuffer.baseAddress!, reversedBuffer.baseAddress!)
                    for j in 0..<half {
                        zr[rv[j]] = input[2 * j]
                        zi[rv[j]] = input[2 * j + 1]
                    }
                    // Complex FFT of size `half`; the twiddle for length L at step k is W_size^(k * size / L).
                    var length = 2
                    while length <= half {
                        let stride = size / length
                        let span = length / 2
                        var start = 0
                        while start < half {
                            for k in 0..<span {
                                let wr = cs[k * stride], wi = sn[k * stride]
                                let a = start + k, b = a + span
                                let tr = zr[b] * wr - zi[b] * wi
                                let ti = zr[b] * wi + zi[b] * wr
                                zr[b] = zr[a] - tr
                                zi[b] = zi[a] - ti
                                zr[a] += tr
                                zi[a] += ti
                            }
                            start += length
                        }
                        length *= 2
                    }
                    for k in 0...half {
                        let a = k % half, b = (half - k) % half
                        let er = 0.5 * (zr[a] + zr[b]), ei = 0.5 * (zi[a] - zi[b])
                        let odr = 0.5 * (zi[a] + zi[b]), odi = -0.5 * (zr[a] - zr[b])
                        let wr: Float = k < half ? cs[k] : -1, wi: Float = k < half ? sn[k] : 0
                        real[k] = er + wr * odr - wi * odi
                        imaginary[k] = ei + wr * odi + wi * odr
                    }
                }
            }
        }
    }
}
