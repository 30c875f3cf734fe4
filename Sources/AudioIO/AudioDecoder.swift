import Foundation

/// Reads any format libsndfile knows (WAV, FLAC, OGG/Vorbis, Opus, MP3, AIFF...), downmixes to
/// mono and resamples (libsoxr, high quality) to `targetRate` (16 kHz, what every EmoBake model
/// hears). For long files prefer `AudioStream`, which never holds the whole file.
public enum AudioDecoder {
    public static let modelSampleRate = 16_000

    /// The whole file as one buffer (decoded in blocks; only the output grows with the length).
    public static func read(_ url: URL, targetRate: Int = modelSampleRate) throws -> AudioBuffer {
        let stream = try AudioStream(url: url, sampleRate: targetRate)
        var samples: [Float] = []
        if let frames = stream.info.frames {
            samples.reserveCapacity(Int(Double(frames) * Double(targetRate) / Double(stream.info.sampleRate)) + 64)
        }
        while let block = try stream.next() { samples.append(contentsOf: block) }
        return AudioBuffer(samples: samples, sampleRate: targetRate)
    }

    /// The header of a file, without decoding it.
    public static func info(_ url: URL) throws -> AudioFileInfo {
        try AudioStream(url: url, blockFrames: 1).info
    }
}
