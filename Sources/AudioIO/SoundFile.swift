import CSndFile
import Foundation

/// The only code that calls libsndfile: one open file, read in interleaved float frames.
/// Every call's error state is read right after the call.
final class SoundFile {
    let path: String
    let info: AudioFileInfo
    private var handle: OpaquePointer?

    /// Channel counts and rates beyond these are not audio anybody records; libsndfile accepts
    /// some such headers, so they are refused here before any buffer is sized from them.
    static let maximumChannels = 256
    static let sampleRateRange = 1_000...768_000

    init(path: String) throws {
        self.path = path
        var raw = SF_INFO()
        guard let opened = sf_open(path, Int32(SFM_READ), &raw) else {
            let reason = String(cString: sf_strerror(nil))
            throw AudioError("audio.unsupported", "\(path): cannot decode audio (\(reason))")
        }
        handle = opened
        let format = Int(raw.format)
        let claimed: Int? = raw.frames >= 0 && raw.frames < Int64(Int.max / 2) && raw.frames != Int64.max ? Int(raw.frames) : nil
        info = AudioFileInfo(
            container: SoundFile.formatName(format & Int(SF_FORMAT_TYPEMASK)),
            encoding: SoundFile.formatName(format & Int(SF_FORMAT_SUBMASK)),
            sampleRate: Int(raw.samplerate), channels: Int(raw.channels), frames: claimed)
        guard (1...SoundFile.maximumChannels).contains(info.channels) else {
            close()
            throw AudioError("audio.invalidHeader", "\(path): header claims \(raw.channels) channels (1...\(SoundFile.maximumChannels) supported)")
        }
        guard SoundFile.sampleRateRange.contains(info.sampleRate) else {
            close()
            throw AudioError(
                "audio.invalidHeader",
                "\(path): header claims a sample rate of \(raw.samplerate) Hz (\(SoundFile.sampleRateRange.lowerBound)...\(SoundFile.sampleRateRange.upperBound) Hz supported)")
        }
    }

    deinit { close() }

    func close() {
        if let handle { sf_close(handle) }
        handle = nil
    }

    /// Bytes per sample of uncompressed encodings; nil for compressed ones (FLAC, Vorbis, Opus, MP3...).
    var bytesPerUncompressedSample: Int? {
        var raw = SF_INFO()
        guard let handle else { return nil }
        sf_command(handle, Int32(SFC_GET_CURRENT_SF_INFO), &raw, Int32(MemoryLayout<SF_INFO>.size))
        switch Int32(raw.format) & Int32(SF_FORMAT_SUBMASK) {
        case Int32(SF_FORMAT_PCM_S8), Int32(SF_FORMAT_PCM_U8), Int32(SF_FORMAT_ULAW), Int32(SF_FORMAT_ALAW): return 1
        case Int32(SF_FORMAT_PCM_16): return 2
        case Int32(SF_FORMAT_PCM_24): return 3
        case Int32(SF_FORMAT_PCM_32), Int32(SF_FORMAT_FLOAT): return 4
        case Int32(SF_FORMAT_DOUBLE): return 8
        default: return nil
        }
    }

    /// Reads up to `frames` interleaved frames into `buffer`: how many were read (0 at the end),
    /// or libsndfile's reason when decoding failed.
    func read(into buffer: UnsafeMutablePointer<Float>, frames: Int) -> Result<Int, DecodeFailure> {
        guard let handle else { return .success(0) }
        let got = sf_readf_float(handle, buffer, sf_count_t(frames))
        if sf_error(handle) != 0 { return .failure(DecodeFailure(reason: String(cString: sf_strerror(handle)))) }
        return .success(max(0, Int(got)))
    }

    struct DecodeFailure: Error {
        var reason: String
    }

    /// The sample bytes the header announces when the file holds fewer: libsndfile repairs such
    /// headers silently (it plays what is there) and notes the repair in its parse log, as
    /// `data : 32000 (should be 1000)` (WAV), `SSND : ...` (AIFF) or `Data size : N` (RF64's
    /// 64-bit ds64 chunk). 32-bit sizes of 0x7FFF0000 and more are the placeholders streaming
    /// writers leave when they cannot seek back, not claims, and are ignored.
    func sampleBytesClaimedBeyondFile(fileSize: Int) -> (claimed: Int, present: Int)? {
        for line in log.split(separator: "\n") {
            let words = line.split(whereSeparator: { $0 == " " || $0 == ":" || $0 == "(" || $0 == ")" })
            if words.count >= 5, words[0] == "data" || words[0] == "SSND", words[2] == "should", words[3] == "be",
                let claimed = Int(words[1]), let present = Int(words[4]), claimed > present, claimed < 0x7FFF_0000
            {
                return (claimed, present)
            }
            if words.count >= 3, words[0] == "Data", words[1] == "size", let claimed = Int(words[2]), claimed > fileSize {
                return (claimed, fileSize)
            }
        }
        return nil
    }

    /// libsndfile's parse log of the header.
    var log: String {
        guard let handle else { return "" }
        var buffer = [CChar](repeating: 0, count: 8192)
        sf_command(handle, Int32(SFC_GET_LOG_INFO), &buffer, Int32(buffer.count))
        return String(cString: buffer)
    }

    private static func formatName(_ format: Int) -> String {
        var formatInfo = SF_FORMAT_INFO()
        formatInfo.format = Int32(format)
        if sf_command(nil, Int32(SFC_GET_FORMAT_INFO), &formatInfo, Int32(MemoryLayout<SF_FORMAT_INFO>.size)) == 0, let name = formatInfo.name {
            return String(cString: name)
        }
        return "format 0x\(String(format, radix: 16))"
    }
}
