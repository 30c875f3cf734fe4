import AudioIO
import EmotionCore
import Foundation

/// Runs a sequence model over audio of any length and collects an `EmotionTrack` with one
/// frame per output step (25 per second by default).
///
/// Long audio is processed in chunks of `chunkSeconds` with enough context on each side
/// (the model's receptive field, rounded up to whole output frames) that every kept output
/// frame sees exactly what it would see in one pass over the whole clip: chunk boundaries
/// leave no seams. Log-mel frames are computed from the samples they cover, so a chunk's
/// frames equal the whole clip's; the per-bin normalisation uses statistics of the whole
/// clip, gathered in a first pass (or, with local normalisation, the frames around each frame,
/// which the chunk's context holds: one pass). Memory holds one chunk with its context, whatever the length.
public struct SequencePredictor: Sendable {
    /// Seconds of output per chunk (context comes on top).
    public var chunkSeconds: Double

    public static let defaultChunkSeconds = 30.0

    public init(chunkSeconds: Double = SequencePredictor.defaultChunkSeconds) {
        self.chunkSeconds = chunkSeconds
    }

    /// A track for a decoded clip (`audio.sampleRate` must be the model's).
    public func predict(_ audio: AudioBuffer, model: SequenceModel, source: String) throws -> EmotionTrack {
        guard audio.sampleRate == model.sampleRate else {
            throw RecognitionError("sequence.sampleRate", "\(source): audio is at \(audio.sampleRate) Hz, the model hears \(model.sampleRate) Hz")
        }
        return try run(model: model, source: source) {
            var delivered = false
            return {
                if delivered { return nil }
                delivered = true
                return audio.samples
            }
        }
    }

    /// A track for an audio file, decoded block by block (twice with whole-clip normalisation:
    /// statistics, then outputs).
    public func predict(url: URL, model: SequenceModel, source: String) throws -> EmotionTrack {
        try run(model: model, source: source) {
            let stream = try AudioStream(url: url, sampleRate: model.sampleRate)
            return { try stream.next() }
        }
    }

    /// `open()` gives a fresh reader of the clip's samples (blocks, then nil); it is called twice.
    func run(model: SequenceModel, source: String, open: () throws -> () throws -> [Float]?) throws -> EmotionTrack {
        guard chunkSeconds.isFinite, chunkSeconds > 0 else {
            throw RecognitionError("sequence.chunk", "chunk length \(chunkSeconds) s must be a positive number of seconds")
        }
        let configuration = model.configuration
        let settings = configuration.backbone.features
        let hop = settings.hopLength, half = settings.fftSize / 2
        let reduction = configuration.timeReduction
        let mels = settings.melBins
        let floor = Float(settings.logFloor)
        // Output frames per chunk, and context in log-mel frames (a whole number of output frames).
        let chunkFrames = max(1, Int((chunkSeconds * configuration.frameRate).rounded())) * reduction
        let context = (configuration.receptiveHalfWidth + reduction - 1) / reduction * reduction

        // Pass 1 (whole-clip normalisation only): statistics over every frame.
        var statistics = SequenceModel.FeatureStatistics(melBins: mels)
        if configuration.normalisationFrames == 0 {
            var reader = SampleWindow(read: try open(), hop: hop, half: half)
            var first = 0
            while true {
                let last = try reader.frames(first..<(first + chunkFrames), extractor: model.extractor)
                guard let (power, count) = last else { break }
                statistics.add(power: power, frames: count, floor: floor)
                first += count
                if count < chunkFrames { break }
                reader.discard(before: first)
            }
            guard statistics.frames > 0, reader.bufferEnd > 0 else { throw RecognitionError("sequence.empty", "\(source): no audio samples") }
        }

        // Pass 2: chunks with context; keep the outputs of each chunk's own frames.
        var reader = SampleWindow(read: try open(), hop: hop, half: half)
        let k = configuration.emotions.count
        var alpha: [Double] = []
        var times: [Double] = []
        var start = 0
        while true {
            let from = max(0, start - context)
            guard let (power, count) = try reader.frames(from..<(start + chunkFrames + context), extractor: model.extractor) else { break }
            let end = from + count  // exclusive; the clip's last frame when count is short
            let features = model.normalisedFeatures(power: power, frames: count, statistics: statistics)
            let outputs = model.outputs(features: features, frames: count)
            let produced = outputs.count / k
            let firstOutput = from / reduction
            let keepFrom = start / reduction
            let keepTo = min(firstOutput + produced, (start + chunkFrames) / reduction)
            if keepTo > keepFrom {
                let rows = Array(outputs[((keepFrom - firstOutput) * k)..<((keepTo - firstOutput) * k)])
                alpha += model.network.alpha(fromOutputs: rows)
                for j in keepFrom..<keepTo { times.append(configuration.time(ofFrame: j)) }
            } else if times.isEmpty && start == 0 {
                // Shorter than one output frame: the model padded it to one; keep that.
                alpha += model.network.alpha(fromOutputs: Array(outputs[0..<k]))
                times.append(configuration.time(ofFrame: 0))
            }
            start += chunkFrames
            if end <= start { break }
            reader.discard(before: max(0, start - context))
        }
        guard !times.isEmpty, reader.bufferEnd > 0 else { throw RecognitionError("sequence.empty", "\(source): no audio samples") }
        return EmotionTrack(
            emotions: configuration.emotions, times: times, alpha: alpha.map { Double(Float($0).description) ?? $0 }, source: source,
            model: model.identifier)
    }
}

/// The samples a range of log-mel frames needs, read block by block and forgotten when no
/// longer needed.
///
/// Log-mel frame t (center = true) covers samples [t hop - n/2, t hop + n/2), reflected at the
/// clip's ends. A slice starting at sample s = a hop gives frames a, a + 1, ... whose windows
/// lie inside the slice exactly as in the whole clip, except the first ceil(n / 2hop) ones,
/// which the extractor pads by reflecting inside the slice: so slices start two or more frames
/// early (or at the clip's start, where the reflection is the clip's own) and those frames are
/// dropped. At the end, slices reach n/2 past the last frame's centre, or the clip's end.
struct SampleWindow {
    let read: () throws -> [Float]?
    let hop: Int
    let half: Int
    var buffer: [Float] = []
    var bufferStart = 0
    var finished = false

    init(read: @escaping () throws -> [Float]?, hop: Int, half: Int) {
        self.read = read
        self.hop = hop
        self.half = half
    }

    var bufferEnd: Int { bufferStart + buffer.count }

    mutating func fill(to sample: Int) throws {
        while !finished && bufferEnd < sample {
            if let block = try read() { buffer += block } else { finished = true }
        }
    }

    /// Mel power (frames x mels) of frames `range` (fewer at the clip's end), nil when the clip
    /// has no frame at `range.lowerBound`.
    mutating func frames(_ range: Range<Int>, extractor: LogMelExtractor) throws -> (power: [Float], count: Int)? {
        let lead = (half + hop - 1) / hop + 1
        let sliceStart = max(0, range.lowerBound - lead) * hop
        precondition(sliceStart >= bufferStart, "SampleWindow: samples before \(bufferStart) were discarded")
        try fill(to: (range.upperBound - 1) * hop + half + 1)
        let total = bufferEnd
        // The clip's frame count once its end is known (the extractor zero-pads tiny clips).
        let clipFrames = finished ? extractor.frameCount(samples: total) : Int.max
        let upper = min(range.upperBound, clipFrames)
        guard upper > range.lowerBound, sliceStart < max(total, 1) || range.lowerBound == 0 else { return nil }
        let sliceEnd = finished ? total : min(total, (upper - 1) * hop + half)
        let slice = buffer[(sliceStart - bufferStart)..<(sliceEnd - bufferStart)]
        let (sliceFrames, power) = extractor.melPower(slice)
        let skip = range.lowerBound - sliceStart / hop
        let count = min(upper - range.lowerBound, sliceFrames - skip)
        guard count > 0 else { return nil }
        let mels = extractor.settings.melBins
        return (Array(power[(skip * mels)..<((skip + count) * mels)]), count)
    }

    mutating func discard(before frame: Int) {
        let lead = (half + hop - 1) / hop + 1
        let keepFrom = max(0, frame - lead) * hop
        if keepFrom > bufferStart {
            buffer.removeFirst(min(buffer.count, keepFrom - bufferStart))
            bufferStart = keepFrom
        }
    }
}
