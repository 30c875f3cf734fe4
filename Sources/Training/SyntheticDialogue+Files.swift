import AudioIO
import Common
import EmotionCore
import Foundation
import JSONIO

extension SyntheticDialogue {
    /// 16-bit PCM mono WAV bytes (RIFF, little-endian); samples are clamped to [-1, 1] and
    /// rounded to the nearest step.
    public static func wavData(_ audio: AudioBuffer) -> Data {
        var data = Data()
        func append32(_ value: UInt32) { withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) } }
        func append16(_ value: UInt16) { withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) } }
        let payload = UInt32(audio.samples.count * 2)
        data.append(contentsOf: Array("RIFF".utf8))
        append32(36 + payload)
        data.append(contentsOf: Array("WAVEfmt ".utf8))
        append32(16)
        append16(1)  // PCM
        append16(1)  // mono
        append32(UInt32(audio.sampleRate))
        append32(UInt32(audio.sampleRate * 2))
        append16(2)
        append16(16)
        data.append(contentsOf: Array("data".utf8))
        append32(payload)
        var pcm = [Int16](repeating: 0, count: audio.samples.count)
        for (i, sample) in audio.samples.enumerated() {
            pcm[i] = Int16((max(-1, min(1, sample)) * 32767).rounded())
        }
        pcm.withUnsafeBytes { raw in
            if Int16(littleEndian: 1) == 1 {
                data.append(contentsOf: raw)
            } else {
                for value in pcm { withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) } }
            }
        }
        return data
    }

    /// Writes `<identifier>.wav` and `<identifier>.truth.json` into `directory`.
    public func write(to directory: URL) throws {
        try AtomicFile.write(Self.wavData(audio), to: directory.appendingPathComponent("\(identifier).wav"))
        var track = truth
        track.source = "\(identifier).wav"
        try track.write(to: directory.appendingPathComponent("\(identifier).truth.json"))
    }

    /// The manifest entry: audio, truth and the clips in order with their times.
    public func manifestEntry(relativeTo base: URL?) -> JSONValue {
        func shown(_ url: URL) -> String {
            guard let base else { return url.lastPathComponent }
            let basePath = base.standardizedFileURL.path + "/"
            let path = url.standardizedFileURL.path
            return path.hasPrefix(basePath) ? String(path.dropFirst(basePath.count)) : url.lastPathComponent
        }
        return .object(
            JSONObject([
                ("id", .string(identifier)),
                ("audio", .string("\(identifier).wav")),
                ("truth", .string("\(identifier).truth.json")),
                ("seconds", .decimal(audio.duration, places: 3)),
                (
                    "segments",
                    .array(
                        segments.map { segment in
                            .object(
                                JSONObject([
                                    ("clip", .string(shown(segment.clip))),
                                    ("emotion", .string(truth.emotions[segment.label])),
                                    ("speaker", .string(segment.speaker)),
                                    ("start", .decimal(segment.start, places: 4)),
                                    ("end", .decimal(segment.end, places: 4)),
                                ]))
                        })
                ),
            ]))
    }
}
