import CSndFile
import CSoxr
import Common
import Foundation

/// Errors reading audio; the message names the file and the problem.
public struct AudioError: EmoBakeError {
    public let code: String
    public let message: String
    public init(_ code: String, _ message: String) {
        self.code = code
        self.message = message
    }
}

/// Decoded audio: mono samples at `sampleRate` Hz, nominally in [-1, 1].
public struct AudioBuffer: Sendable {
    public var samples: [Float]
    public var sampleRate: Int
    public var duration: Double { Double(samples.count) / Double(sampleRate) }

    public init(samples: [Float], sampleRate: Int) {
        self.samples = samples
        self.sampleRate = sampleRate
    }
}

/// Reads any format libsndfile knows, downmixes to mono and resamples (libsoxr, high quality)
/// to `targetRate` (16 kHz, what every EmoBake model hears).
public enum AudioDecoder {
    public static let modelSampleRate = 16_000

    public static func read(_ url: URL, targetRate: Int = modelSampleRate) throws -> AudioBuffer {
        var info = SF_INFO()
        guard let file = sf_open(url.path, Int32(SFM_READ), &info) else {
            let reason = String(cString: sf_strerror(nil))
            let exists = FileManager.default.fileExists(atPath: url.path)
            throw AudioError(exists ? "audio.unreadable" : "audio.missing", "\(url.path): \(exists ? "cannot decode audio (\(reason))" : "no such file")")
        }
        defer { sf_close(file) }
        guard info.channels > 0, info.samplerate > 0 else {
            throw AudioError("audio.invalid", "\(url.path): invalid header (\(info.channels) channels, \(info.samplerate) Hz)")
        }
        let channels = Int(info.channels)
        var mono: [Float] = []
        let blockFrames = 65_536
        var block = [Float](repeating: 0, count: blockFrames * channels)
        while true {
            let got = Int(sf_readf_float(file, &block, sf_count_t(blockFrames)))
            if got <= 0 { break }
            for frame in 0..<got {
                var sum: Float = 0
                for channel in 0..<channels { sum += block[frame * channels + channel] }
                mono.append(sum / Float(channels))
            }
        }
        if sf_error(file) != 0 {
            throw AudioError("audio.corrupt", "\(url.path): decoding failed (\(String(cString: sf_strerror(file))))")
        }
        guard !mono.isEmpty else { throw AudioError("audio.empty", "\(url.path): no audio samples") }
        let rate = Int(info.samplerate)
        if rate == targetRate { return AudioBuffer(samples: mono, sampleRate: rate) }
        return AudioBuffer(samples: try resample(mono, from: rate, to: targetRate, source: url.path), sampleRate: targetRate)
    }

    static func resample(_ input: [Float], from inputRate: Int, to outputRate: Int, source: String) throws -> [Float] {
        let outputCount = Int((Double(input.count) * Double(outputRate) / Double(inputRate)).rounded())
        var output = [Float](repeating: 0, count: outputCount + 16)
        var produced = 0
        var ioSpec = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I)
        var quality = soxr_quality_spec(UInt(SOXR_HQ), 0)
        let error = input.withUnsafeBufferPointer { inBuffer in
            output.withUnsafeMutableBufferPointer { outBuffer in
                soxr_oneshot(
                    Double(inputRate), Double(outputRate), 1, inBuffer.baseAddress, inBuffer.count, nil,
                    outBuffer.baseAddress, outBuffer.count, &produced, &ioSpec, &quality, nil)
            }
        }
        if let error {
            throw AudioError("audio.resample", "\(source): resampling failed (\(String(cString: error)))")
        }
        return Array(output[..<produced])
    }
}
