import CSndFile
import Foundation
import TestSupport

/// Audio files made at test time: sox for what it writes, libsndfile for MP3 and Opus (sox
/// has no encoder for them here). Nothing here is licensed from anyone.
enum TestAudio {
    static let folder = TestPaths.temporaryDirectory("audio")

    /// A 440 Hz sine (channel gains averaging 0.4) written as float WAV by libsndfile, then
    /// converted by sox with `outputOptions` (`-b 24`, `-e floating-point`, `-C 5`).
    static func sox(_ name: String, rate: Int, channels: Int, seconds: Double, outputOptions: [String]) throws -> URL {
        let url = folder.appendingPathComponent(name)
        let reference = try sndfile("reference-\(name).wav", format: Int32(SF_FORMAT_WAV | SF_FORMAT_FLOAT), rate: rate, channels: channels, seconds: seconds)
        defer { try? FileManager.default.removeItem(at: reference) }
        let made = try TestProcess.run("sox", ["-D", reference.path] + outputOptions + [url.path])
        guard made.status == 0 else { throw TestAudioError(message: "sox failed: \(made.standardError)") }
        return url
    }

    /// Writes interleaved samples with libsndfile in `format` (e.g. SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III).
    static func sndfile(_ name: String, format: Int32, rate: Int, channels: Int, seconds: Double) throws -> URL {
        let url = folder.appendingPathComponent(name)
        var info = SF_INFO()
        info.samplerate = Int32(rate)
        info.channels = Int32(channels)
        info.format = format
        guard let file = sf_open(url.path, Int32(SFM_WRITE), &info) else {
            throw TestAudioError(message: "libsndfile cannot write \(name): \(String(cString: sf_strerror(nil)))")
        }
        let frames = Int(Double(rate) * seconds)
        var samples = [Float](repeating: 0, count: frames * channels)
        for frame in 0..<frames {
            let value = Float(sin(2 * Double.pi * 440 * Double(frame) / Double(rate)))
            for (channel, gain) in channelGains(channels).enumerated() { samples[frame * channels + channel] = Float(gain) * value }
        }
        let written = sf_writef_float(file, samples, sf_count_t(frames))
        sf_close(file)
        guard written == frames else { throw TestAudioError(message: "libsndfile wrote \(written) of \(frames) frames") }
        return url
    }

    /// Different gains per channel whose mean is 0.4, so a correct downmix gives 0.4 * sin(440 Hz).
    static func channelGains(_ channels: Int) -> [Double] {
        switch channels {
        case 1: return [0.4]
        case 2: return [0.6, 0.2]
        default: return [0.6, 0.2] + Array(repeating: 0.4, count: channels - 2)
        }
    }

    static func bytes(_ name: String, _ bytes: [UInt8]) throws -> URL {
        let url = folder.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url
    }
}

struct TestAudioError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// Little-endian bytes for hand-made headers.
extension Array where Element == UInt8 {
    mutating func append(le value: UInt32) { for shift in stride(from: 0, to: 32, by: 8) { append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) } }
    mutating func append(le value: UInt16) { append(UInt8(value & 0xFF)); append(UInt8(value >> 8)) }
    mutating func append(le value: UInt64) { for shift in stride(from: 0, to: 64, by: 8) { append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) } }
    mutating func append(ascii text: String) { append(contentsOf: Array(text.utf8)) }
}
