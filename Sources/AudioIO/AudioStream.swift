import Foundation

/// Decodes a file block by block: mono (channels averaged), resampled to `sampleRate`.
///
/// Memory stays bounded whatever the file's length: one block of interleaved frames, one block
/// of mono samples and the resampler's filter state. Headers that are impossible (no channels,
/// an absurd rate, a length the file cannot hold) are refused at open; a stream that ends before
/// the length its header promises, or a sample that is not finite, is refused while reading.
public final class AudioStream {
    /// The file as its header describes it.
    public let info: AudioFileInfo
    /// The rate of the samples `next()` returns (Hz).
    public let sampleRate: Int
    public let path: String
    /// Input frames decoded so far (at the file's own rate).
    public private(set) var framesDecoded = 0
    /// Mono samples returned so far (at `sampleRate`).
    public private(set) var samplesDelivered = 0

    private let file: SoundFile
    private let resampler: Resampler?
    private let blockFrames: Int
    private var interleaved: [Float]
    private var finished = false

    /// Opens `url`. `blockFrames` input frames are decoded per `next()` call.
    public init(url: URL, sampleRate: Int = AudioDecoder.modelSampleRate, blockFrames: Int = 32_768) throws {
        path = url.path
        self.sampleRate = sampleRate
        self.blockFrames = max(1, blockFrames)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw AudioError("audio.missing", "\(path): no such file")
        }
        guard !isDirectory.boolValue else { throw AudioError("audio.notFile", "\(path): is a folder, not an audio file") }
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        let fileSize = (attributes?[.size] as? NSNumber)?.intValue ?? 0
        guard fileSize > 0 else { throw AudioError("audio.empty", "\(path): empty file (0 bytes)") }
        guard (1_000...768_000).contains(sampleRate) else {
            throw AudioError("audio.invalidRate", "\(path): cannot resample to \(sampleRate) Hz")
        }
        file = try SoundFile(path: path)
        info = file.info
        if let claimed = info.frames {
            try Self.checkPlausible(claimedFrames: claimed, info: info, fileSize: fileSize, bytesPerSample: file.bytesPerUncompressedSample, path: path)
        }
        if let (claimed, present) = file.sampleBytesClaimedBeyondFile(fileSize: fileSize) {
            if Double(claimed) > Double(fileSize) * 16 + 1_048_576 {
                throw AudioError(
                    "audio.absurdHeader",
                    "\(path): header claims \(Self.describe(bytes: Double(claimed))) of samples but the file is only \(fileSize) bytes")
            }
            throw AudioError(
                "audio.truncated", "\(path): truncated: the header promises \(claimed) bytes of samples, the file holds \(present)")
        }
        resampler = info.sampleRate == sampleRate ? nil : try Resampler(from: info.sampleRate, to: sampleRate, source: path)
        interleaved = [Float](repeating: 0, count: self.blockFrames * info.channels)
    }

    /// The next block of mono samples at `sampleRate` (possibly empty while the resampler fills
    /// its filter), or nil after the last one.
    public func next() throws -> [Float]? {
        if finished { return nil }
        let channels = info.channels
        let got: Int
        switch interleaved.withUnsafeMutableBufferPointer({ file.read(into: $0.baseAddress!, frames: blockFrames) }) {
        case .success(let count): got = count
        case .failure(let failure):
            let progress = info.frames.map { "after \(framesDecoded) of the \($0) frames the header promises" } ?? "after \(framesDecoded) frames"
            throw AudioError("audio.corrupt", "\(path): decoding failed \(progress) (\(failure.reason)): the file is truncated or corrupt")
        }
        var mono = [Float](repeating: 0, count: got)
        if got > 0 {
            try interleaved.withUnsafeBufferPointer { frames in
                let scale = 1 / Float(channels)
                for frame in 0..<got {
                    var sum: Float = 0
                    for channel in 0..<channels { sum += frames[frame * channels + channel] }
                    guard sum.isFinite else {
                        throw AudioError("audio.nonFinite", "\(path): sample \(framesDecoded + frame) is not a finite number")
                    }
                    mono[frame] = channels == 1 ? sum : sum * scale
                }
            }
            framesDecoded += got
        }
        var output: [Float] = []
        if let resampler {
            output.reserveCapacity(Int(Double(got) * resampler.ratio) + 64)
            try mono.withUnsafeBufferPointer { try resampler.process($0, into: &output) }
        } else {
            output = mono
        }
        if got == 0 {
            finished = true
            file.close()
            try finishChecks()
            try resampler?.finish(into: &output)
            if output.isEmpty { return nil }
        }
        samplesDelivered += output.count
        return output
    }

    private func finishChecks() throws {
        if framesDecoded == 0 {
            throw AudioError("audio.empty", "\(path): no audio samples (\(info.container), \(info.encoding))")
        }
        if let claimed = info.frames, framesDecoded < claimed {
            throw AudioError(
                "audio.truncated",
                "\(path): truncated: the header promises \(claimed) frames, the file ends after \(framesDecoded)")
        }
    }

    /// A header may claim any length; a file of `fileSize` bytes cannot hold more than a bounded
    /// number of frames (uncompressed: its size over the frame size; compressed: no codec here
    /// packs more than 4096 frames in a byte).
    static func checkPlausible(claimedFrames: Int, info: AudioFileInfo, fileSize: Int, bytesPerSample: Int?, path: String) throws {
        let claimedBytes = Double(claimedFrames) * Double(info.channels) * Double(bytesPerSample ?? 0)
        let limit: Double = bytesPerSample == nil ? Double(fileSize) * 4096 : Double(fileSize) * 16 + 1_048_576
        let claimed = bytesPerSample == nil ? Double(claimedFrames) : claimedBytes
        guard claimed > limit else { return }
        let seconds = Double(claimedFrames) / Double(info.sampleRate)
        throw AudioError(
            "audio.absurdHeader",
            "\(path): header claims \(claimedFrames) frames (\(describe(seconds: seconds))\(bytesPerSample == nil ? "" : ", \(describe(bytes: claimedBytes))")) but the file is only \(fileSize) bytes")
    }

    static func describe(bytes: Double) -> String {
        let units = ["bytes", "KB", "MB", "GB", "TB", "PB", "EB"]
        var value = bytes
        var index = 0
        while value >= 1000 && index < units.count - 1 {
            value /= 1000
            index += 1
        }
        return index == 0 ? "\(Int(value)) bytes" : "\(String(format: "%.1f", value)) \(units[index])"
    }

    static func describe(seconds: Double) -> String {
        if seconds >= 86_400 { return String(format: "%.1f days", seconds / 86_400) }
        if seconds >= 3_600 { return String(format: "%.1f hours", seconds / 3_600) }
        return String(format: "%.1f s", seconds)
    }
}
