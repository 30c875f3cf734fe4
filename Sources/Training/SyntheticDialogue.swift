import AudioIO
import EmotionCore
import Foundation
import Neural

/// A labelled clip a synthetic dialogue can be made from.
public struct DialogueSourceClip: Sendable, Equatable {
    public var url: URL
    /// Index into the builder's emotion list.
    public var label: Int
    /// Who speaks (RAVDESS: the actor number as written in the file name, "01"...).
    public var speaker: String

    public init(url: URL, label: Int, speaker: String) {
        self.url = url
        self.label = label
        self.speaker = speaker
    }
}

/// One clip's place in a dialogue: it plays from `start` to `end` seconds.
public struct DialogueSegment: Sendable, Equatable {
    public var clip: URL
    public var label: Int
    public var speaker: String
    public var start: Double
    public var end: Double
}

/// A dialogue made of clips of different emotions, with its ground truth: per frame the
/// clip's label, and in a crossfade or pause between two clips a linear mixture that moves
/// from the first clip's label to the second's.
public struct SyntheticDialogue: Sendable {
    public var identifier: String
    public var audio: AudioBuffer
    public var segments: [DialogueSegment]
    /// Frames at i / frameRate; alpha = 1000 * mixture (+1e-6 where the mixture is 0), so
    /// the mixture is exact to 1e-8.
    public var truth: EmotionTrack
}

/// How dialogues are put together (all drawn with the builder's seeded generator).
public struct DialogueRecipe: Sendable, Equatable {
    /// Clips per dialogue; consecutive clips always have different emotions.
    public var clipsPerDialogue: ClosedRange<Int> = 2...4
    /// Probability that the whole dialogue has one speaker (otherwise each clip's speaker is drawn).
    public var sameSpeakerProbability = 0.5
    /// Probability that two clips join by a crossfade (otherwise by a pause).
    public var crossfadeProbability = 0.5
    /// Crossfade lengths, seconds (the clips overlap, amplitudes ramp linearly).
    public var crossfade: ClosedRange<Double> = 0.1...0.5
    /// Pause lengths, seconds of silence.
    public var pause: ClosedRange<Double> = 0.05...0.6
    /// Leading and trailing silence of each clip is cut (frames more than this many dB below
    /// the loudest, `trimMargin` seconds kept), so pauses are the recipe's, not the recording's.
    public var trimDecibels = 40.0
    public var trimMargin = 0.15
    /// Frame rate of the ground-truth track.
    public var frameRate = 25.0

    public init() {}
}

/// Builds synthetic dialogues from labelled clips. Deterministic: the same clips (in the same
/// order), recipe, seed and index give the same dialogue, sample for sample.
public struct SyntheticDialogueBuilder: Sendable {
    public let clips: [DialogueSourceClip]
    public let emotions: [String]
    public var recipe: DialogueRecipe
    public var seed: UInt64
    /// Clips by label, and by speaker then label, for drawing.
    private let byLabel: [[Int]]
    private let speakers: [String]
    private let bySpeakerAndLabel: [String: [[Int]]]

    public init(clips: [DialogueSourceClip], emotions: [String], recipe: DialogueRecipe = DialogueRecipe(), seed: UInt64 = 1) throws {
        guard emotions.count >= 2 else { throw TrainingError("dialogue.emotions", "a dialogue needs at least two emotions") }
        var byLabel = [[Int]](repeating: [], count: emotions.count)
        var bySpeaker: [String: [[Int]]] = [:]
        for (index, clip) in clips.enumerated() {
            guard (0..<emotions.count).contains(clip.label) else {
                throw TrainingError("dialogue.label", "\(clip.url.path): label \(clip.label) is outside the \(emotions.count) emotions")
            }
            byLabel[clip.label].append(index)
            bySpeaker[clip.speaker, default: [[Int]](repeating: [], count: emotions.count)][clip.label].append(index)
        }
        guard byLabel.filter({ !$0.isEmpty }).count >= 2 else {
            throw TrainingError("dialogue.clips", "synthetic dialogues need clips of at least two different emotions (\(clips.count) clips given)")
        }
        self.clips = clips
        self.emotions = emotions
        self.recipe = recipe
        self.seed = seed
        self.byLabel = byLabel
        self.speakers = bySpeaker.keys.sorted()
        self.bySpeakerAndLabel = bySpeaker
    }

    /// The clips and joins of dialogue `index`, drawn without decoding any audio.
    public func plan(index: Int) -> (clips: [Int], joins: [Double]) {
        var random = SeededRandom(seed: seed &* 0x2545_F491_4F6C_DD1D &+ UInt64(index) &* 0x9E37_79B9_7F4A_7C15 &+ 1)
        let count = recipe.clipsPerDialogue.lowerBound + random.below(recipe.clipsPerDialogue.count)
        // One speaker with at least two emotions, or any speaker per clip.
        var pool: [[Int]] = byLabel
        if random.uniform() < recipe.sameSpeakerProbability {
            let candidates = speakers.filter { (bySpeakerAndLabel[$0] ?? []).filter { !$0.isEmpty }.count >= 2 }
            if !candidates.isEmpty { pool = bySpeakerAndLabel[candidates[random.below(candidates.count)]]! }
        }
        let available = pool.indices.filter { !pool[$0].isEmpty }
        var chosen: [Int] = []
        var previous = -1
        for _ in 0..<count {
            let labels = available.filter { $0 != previous }
            let label = labels[random.below(labels.count)]
            chosen.append(pool[label][random.below(pool[label].count)])
            previous = label
        }
        // A positive join is a pause of that many seconds, a negative one a crossfade.
        var joins: [Double] = []
        for _ in 1..<max(1, count) {
            if random.uniform() < recipe.crossfadeProbability {
                joins.append(-random.uniform(recipe.crossfade.lowerBound, recipe.crossfade.upperBound))
            } else {
                joins.append(random.uniform(recipe.pause.lowerBound, recipe.pause.upperBound))
            }
        }
        return (chosen, joins)
    }

    /// Decodes the planned clips and mixes dialogue `index`.
    public func dialogue(index: Int, identifier: String? = nil) throws -> SyntheticDialogue {
        let (chosen, joins) = plan(index: index)
        let rate = AudioDecoder.modelSampleRate
        var pieces: [[Float]] = []
        for clipIndex in chosen {
            let audio = try AudioDecoder.read(clips[clipIndex].url, targetRate: rate).samples
            let kept = Self.speechRange(audio, rate: rate, decibels: recipe.trimDecibels, margin: recipe.trimMargin)
            pieces.append(Array(audio[kept]))
        }
        // Start sample of each piece; a crossfade never exceeds half of either piece.
        var starts = [0]
        var fades: [Int] = []
        for (i, join) in joins.enumerated() {
            let end = starts[i] + pieces[i].count
            if join < 0 {
                let fade = min(Int((-join * Double(rate)).rounded()), pieces[i].count / 2, pieces[i + 1].count / 2)
                fades.append(fade)
                starts.append(end - fade)
            } else {
                fades.append(0)
                starts.append(end + Int((join * Double(rate)).rounded()))
            }
        }
        let total = starts.last! + pieces.last!.count
        var samples = [Float](repeating: 0, count: total)
        for (i, piece) in pieces.enumerated() {
            let fadeIn = i > 0 ? fades[i - 1] : 0
            let fadeOut = i < fades.count ? fades[i] : 0
            for (j, value) in piece.enumerated() {
                var gain: Float = 1
                if j < fadeIn { gain = Float(j + 1) / Float(fadeIn + 1) }
                if j >= piece.count - fadeOut { gain = min(gain, Float(piece.count - j) / Float(fadeOut + 1)) }
                samples[starts[i] + j] += gain * value
            }
        }
        let segments = chosen.enumerated().map { i, clipIndex in
            DialogueSegment(
                clip: clips[clipIndex].url, label: clips[clipIndex].label, speaker: clips[clipIndex].speaker,
                start: Double(starts[i]) / Double(rate), end: Double(starts[i] + pieces[i].count) / Double(rate))
        }
        let duration = Double(total) / Double(rate)
        let name = identifier ?? String(format: "dialogue_%04d", index)
        return SyntheticDialogue(
            identifier: name, audio: AudioBuffer(samples: samples, sampleRate: rate), segments: segments,
            truth: Self.truth(segments: segments, emotions: emotions, duration: duration, frameRate: recipe.frameRate, source: name))
    }

    /// The ground truth at frames i / frameRate up to the duration: the label of the clip
    /// playing; where two clips overlap (a crossfade) or neither plays (a pause), the mixture
    /// moves linearly across that interval from the earlier clip's label to the later one's.
    static func truth(segments: [DialogueSegment], emotions: [String], duration: Double, frameRate: Double, source: String) -> EmotionTrack {
        let k = emotions.count
        let frames = max(1, Int((duration * frameRate).rounded(.down)) + 1)
        var times: [Double] = []
        var alpha: [Double] = []
        times.reserveCapacity(frames)
        alpha.reserveCapacity(frames * k)
        for frame in 0..<frames {
            let time = Double(frame) / frameRate
            var mixture = [Double](repeating: 0, count: k)
            // The transition between segment i and i + 1 spans [min(end_i, start_i+1), max(end_i, start_i+1)].
            var placed = false
            for i in 0..<(segments.count - 1) {
                let low = min(segments[i].end, segments[i + 1].start), high = max(segments[i].end, segments[i + 1].start)
                if time > low && time < high {
                    let w = (time - low) / (high - low)
                    mixture[segments[i].label] += 1 - w
                    mixture[segments[i + 1].label] += w
                    placed = true
                    break
                }
            }
            if !placed {
                let current = segments.lastIndex { $0.start <= time } ?? 0
                mixture[segments[current].label] = 1
            }
            times.append(time)
            alpha += mixture.map { $0 > 0 ? 1000 * $0 : 1e-6 }
        }
        return EmotionTrack(emotions: emotions, times: times, alpha: alpha, source: source, model: "ground truth (synthetic dialogue)")
    }

    /// The loud part of a clip: 25 ms frames every 10 ms whose mean square is within
    /// `decibels` of the loudest frame, plus `margin` seconds each side.
    static func speechRange(_ samples: [Float], rate: Int, decibels: Double, margin: Double) -> Range<Int> {
        let length = rate / 40, hop = rate / 100
        guard decibels > 0, samples.count > length else { return 0..<samples.count }
        let frames = 1 + (samples.count - length) / hop
        var energies = [Double](repeating: 0, count: frames)
        for t in 0..<frames {
            var sum = 0.0
            for i in (t * hop)..<(t * hop + length) { sum += Double(samples[i]) * Double(samples[i]) }
            energies[t] = sum / Double(length)
        }
        let loudest = energies.max() ?? 0
        guard loudest > 0 else { return 0..<samples.count }
        let threshold = loudest * pow(10, -decibels / 10)
        let first = energies.firstIndex { $0 >= threshold }!, last = energies.lastIndex { $0 >= threshold }!
        let pad = Int((margin * Double(rate)).rounded())
        return max(0, first * hop - pad)..<min(samples.count, last * hop + length + pad)
    }
}
