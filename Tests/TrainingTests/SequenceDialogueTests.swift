import AudioIO
import EmotionCore
import Foundation
import Testing
import TestSupport
import Training

/// Synthetic dialogues: seeded plans, the mixed audio, and the ground truth through
/// crossfades and pauses. Clips are tones written here (each emotion its own pitch, each
/// speaker its own loudness), so every sample of the result can be predicted.
@Suite struct SequenceDialogueTests {
    static let emotions = ["neutral", "happy", "sad", "angry"]

    /// Writes 1 s tone clips: 0.2 s silence, 0.6 s tone, 0.2 s silence.
    static func makeClips() throws -> (URL, [DialogueSourceClip]) {
        let folder = TestPaths.temporaryDirectory("dialogue")
        var clips: [DialogueSourceClip] = []
        for speaker in ["01", "02"] {
            for label in 0..<emotions.count {
                let frequency = 200.0 + 100 * Double(label)
                let amplitude = speaker == "01" ? 0.5 : 0.25
                let samples = (0..<16_000).map { i -> Float in
                    (3200..<12_800).contains(i) ? Float(amplitude * sin(2 * Double.pi * frequency * Double(i) / 16_000)) : 0
                }
                let url = folder.appendingPathComponent("s\(speaker)_e\(label).wav")
                try SyntheticDialogue.wavData(AudioBuffer(samples: samples, sampleRate: 16_000)).write(to: url)
                clips.append(DialogueSourceClip(url: url, label: label, speaker: speaker))
            }
        }
        return (folder, clips)
    }

    @Test func dialoguesAreSeededAndChangeEmotionAtEveryClip() throws {
        let (folder, clips) = try Self.makeClips()
        defer { try? FileManager.default.removeItem(at: folder) }
        let builder = try SyntheticDialogueBuilder(clips: clips, emotions: Self.emotions, seed: 5)
        var sawSameSpeaker = false, sawMixedSpeakers = false
        for index in 0..<20 {
            let plan = builder.plan(index: index)
            #expect(plan == builder.plan(index: index))
            #expect((2...4).contains(plan.clips.count) && plan.joins.count == plan.clips.count - 1)
            for (a, b) in zip(plan.clips, plan.clips.dropFirst()) { #expect(clips[a].label != clips[b].label) }
            let speakers = Set(plan.clips.map { clips[$0].speaker })
            if speakers.count == 1 { sawSameSpeaker = true } else { sawMixedSpeakers = true }
        }
        #expect(sawSameSpeaker && sawMixedSpeakers)
        let other = try SyntheticDialogueBuilder(clips: clips, emotions: Self.emotions, seed: 6)
        #expect((0..<10).contains { other.plan(index: $0) != builder.plan(index: $0) })
        let first = try builder.dialogue(index: 2), second = try builder.dialogue(index: 2)
        #expect(first.audio.samples == second.audio.samples && first.truth == second.truth)
    }

    @Test func truthFollowsClipsCrossfadesAndPauses() throws {
        let (folder, clips) = try Self.makeClips()
        defer { try? FileManager.default.removeItem(at: folder) }
        var recipe = DialogueRecipe()
        recipe.clipsPerDialogue = 3...3
        let builder = try SyntheticDialogueBuilder(clips: clips, emotions: Self.emotions, recipe: recipe, seed: 9)
        var checkedCrossfade = false, checkedPause = false
        for index in 0..<12 {
            let dialogue = try builder.dialogue(index: index)
            let segments = dialogue.segments
            #expect(segments.count == 3)
            // Trimming keeps the 0.6 s tone, the 25 ms frames that touch it (0.18 s to 0.805 s)
            // and 0.15 s each side: 0.935 s.
            for segment in segments { #expect(abs((segment.end - segment.start) - 0.935) < 1e-9) }
            let truth = dialogue.truth
            #expect(truth.times.last! <= dialogue.audio.duration && dialogue.audio.duration - truth.times.last! < 0.04)
            for (frame, time) in truth.times.enumerated() {
                let m = truth.mixture(frame: frame)
                #expect(abs(m.reduce(0, +) - 1) < 1e-9)
                for i in 0..<2 {
                    let (a, b) = (segments[i], segments[i + 1])
                    let low = min(a.end, b.start), high = max(a.end, b.start)
                    if time > low + 1e-9 && time < high - 1e-9 {
                        let w = (time - low) / (high - low)
                        #expect(abs(m[a.label] - (1 - w)) < 1e-6 && abs(m[b.label] - w) < 1e-6)
                        if b.start < a.end { checkedCrossfade = true } else { checkedPause = true }
                    }
                }
                let inTransition = (0..<2).contains { i in
                    time > min(segments[i].end, segments[i + 1].start) - 1e-9 && time < max(segments[i].end, segments[i + 1].start) + 1e-9
                }
                if !inTransition {
                    let playing = segments.lastIndex { $0.start <= time }!
                    #expect(m[segments[playing].label] > 1 - 1e-6, "frame \(frame)")
                }
            }
            // The audio is the sum of the faded clips: in a pause it is silent, mid-clip it is the tone.
            for i in 0..<2 where segments[i + 1].start > segments[i].end + 0.02 {
                let middle = Int(((segments[i].end + segments[i + 1].start) / 2) * 16_000)
                #expect(dialogue.audio.samples[middle] == 0)
            }
        }
        #expect(checkedCrossfade && checkedPause)
    }

    @Test func filesAreWrittenAndReadBack() throws {
        let (folder, clips) = try Self.makeClips()
        defer { try? FileManager.default.removeItem(at: folder) }
        let builder = try SyntheticDialogueBuilder(clips: clips, emotions: Self.emotions, seed: 2)
        let dialogue = try builder.dialogue(index: 0, identifier: "eval_0000")
        let output = folder.appendingPathComponent("out")
        try dialogue.write(to: output)
        let audio = try AudioDecoder.read(output.appendingPathComponent("eval_0000.wav"))
        #expect(audio.samples.count == dialogue.audio.samples.count)
        #expect(zip(audio.samples, dialogue.audio.samples).allSatisfy { abs($0 - $1) < 1.0 / 32_000 })
        let truth = try EmotionTrack.read(from: output.appendingPathComponent("eval_0000.truth.json"))
        #expect(truth.times.count == dialogue.truth.times.count)
        #expect(try MixtureError.meanAbsoluteError(prediction: truth, truth: dialogue.truth) < 1e-7)
    }

    @Test func builderRefusesUnusableClips() throws {
        let url = URL(fileURLWithPath: "/nonexistent/a.wav")
        #expect(throws: TrainingError.self) {
            _ = try SyntheticDialogueBuilder(clips: [DialogueSourceClip(url: url, label: 0, speaker: "1")], emotions: Self.emotions)
        }
        let builder = try SyntheticDialogueBuilder(
            clips: [DialogueSourceClip(url: url, label: 0, speaker: "1"), DialogueSourceClip(url: url, label: 1, speaker: "1")],
            emotions: Self.emotions)
        do {
            _ = try builder.dialogue(index: 0)
            Issue.record("decoded a missing file")
        } catch {
            #expect("\(error)".contains("/nonexistent/a.wav"))
        }
    }
}
