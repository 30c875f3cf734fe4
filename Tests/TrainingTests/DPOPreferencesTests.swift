import EmotionCore
import Foundation
import Neural
import Testing
import TestSupport
import Training

/// Preferences files, candidates and the simulated annotator.
@Suite struct DPOPreferencesTests {
    static let emotions = ["neutral", "happy", "sad"]

    /// A track that goes from mostly neutral to mostly happy over 2 s at 10 fps.
    static func track(concentration: Double = 20) -> EmotionTrack {
        let times = (0..<21).map { Double($0) / 10 }
        let alpha = times.flatMap { t -> [Double] in
            let w = t / 2
            return [0.8 * (1 - w) + 0.1, 0.8 * w + 0.1, 0.1].map { $0 * concentration }
        }
        return EmotionTrack(emotions: emotions, times: times, alpha: alpha, source: "line.wav", model: "test")
    }

    @Test func preferencesRoundTrip() throws {
        let preferences = [
            Preference(clip: "audio/a.wav", candidates: ["c/a_0.json", "c/a_3.json"], chosen: 1, annotator: PreferencesFile.simulatedAnnotator, pair: "0-3"),
            Preference(clip: "audio/b b.wav", candidates: ["c/b_1.json", "c/b_2.json"], chosen: 0, annotator: "Ana \"QA\""),
        ]
        let text = PreferencesFile.text(preferences)
        #expect(
            text.split(separator: "\n").first
                == #"{"pair":"0-3","clip":"audio/a.wav","candidates":["c/a_0.json","c/a_3.json"],"chosen":1,"annotator":"simulated-ground-truth"}"#)
        #expect(text.hasSuffix("}\n") && !text.contains("\r"))
        let parsed = try PreferencesFile.parse(text + "\n\n", source: "prefs.jsonl")
        #expect(parsed == preferences)
        #expect(parsed[0].isSimulated && !parsed[1].isSimulated)
        #expect(parsed[0].winner == "c/a_3.json" && parsed[0].loser == "c/a_0.json")
        #expect(PreferencesFile.annotatorSummary(parsed).contains("simulated-ground-truth (simulated annotator, not people)"))
    }

    @Test(arguments: [
        (#"{"clip":"a.wav","candidates":["x.json"],"chosen":0,"annotator":"me"}"#, "prefs.jsonl:2: candidates: expected two candidate track files, found 1"),
        (#"{"clip":"a.wav","candidates":["x.json","y.json"],"chosen":2,"annotator":"me"}"#, "prefs.jsonl:2: chosen: expected 0 or 1"),
        (#"{"clip":"a.wav","candidates":["x.json","y.json"],"chosen":0}"#, "prefs.jsonl:2: missing field \"annotator\""),
        (#"{"clip":"a.wav","candidates":["x.json","x.json"],"chosen":0,"annotator":"me"}"#, "prefs.jsonl:2: candidates: the two candidates are the same file"),
        (#"{"clip": "a.wav", "#, "prefs.jsonl:2: not a JSON object"),
    ])
    func badLinesNameTheFileLineAndField(line: String, message: String) {
        let good = #"{"clip":"a.wav","candidates":["x.json","y.json"],"chosen":0,"annotator":"me"}"#
        do {
            _ = try PreferencesFile.parse(good + "\n" + line + "\n", source: "prefs.jsonl")
            Issue.record("accepted a bad line: \(line)")
        } catch {
            let text = oneLine(error)
            #expect(text.hasPrefix(message), "\(text)")
            #expect(!text.contains("\n"))
        }
    }

    func oneLine(_ error: any Error) -> String { (error as? TrainingError)?.message ?? "\(error)" }

    @Test func candidatesAreDeterministicDistinctAndOnTheOpenSimplex() {
        let track = Self.track()
        let generator = CandidateGenerator(seed: 7)
        let first = generator.candidates(from: track, key: 3)
        let again = generator.candidates(from: track, key: 3)
        let otherClip = generator.candidates(from: track, key: 4)
        #expect(first.count == 5)
        #expect(first == again)
        #expect(first[3] != otherClip[3])
        #expect(first[3] != first[4], "the two Dirichlet draws must differ")
        for candidate in first {
            #expect(candidate.times == track.times)
            for frame in 0..<candidate.frameCount {
                let m = candidate.mixture(frame: frame)
                #expect(abs(m.reduce(0, +) - 1) < 1e-9)
                #expect(m.allSatisfy { $0 >= Dirichlet.minimumTarget * 0.99 })
                #expect(abs(candidate.concentration(frame: frame) - track.concentration(frame: frame)) < 1e-9)
            }
        }
        // mean = the model's mixture; temperature 0.5 sharpens, 2 flattens.
        for frame in [0, 10, 20] {
            let mean = first[0].mixture(frame: frame), model = track.mixture(frame: frame)
            #expect(zip(mean, model).allSatisfy { abs($0 - $1) < 1e-9 })
            #expect(first[1].mixture(frame: frame).max()! > model.max()!)
            #expect(first[2].mixture(frame: frame).max()! < model.max()!)
            let squared = model.map { $0 * $0 }, total = squared.reduce(0, +)
            #expect(zip(first[1].mixture(frame: frame), squared).allSatisfy { abs($0 - $1 / total) < 1e-6 })
        }
        // Draws move smoothly: linear between keyframes 0.5 s apart.
        let sample = first[3]
        let a = sample.mixture(frame: 5), b = sample.mixture(frame: 6), c = sample.mixture(frame: 7)
        #expect(zip(zip(a, b), c).allSatisfy { abs(($0.0 + $1) / 2 - $0.1) < 1e-6 })
    }

    @Test func windowCandidatesAreTheStageOneTrackReadAtTheModelFrames() {
        let track = Self.track()
        // A coarser Stage 1 track, emotions in another order: happy rises from 0.2 to 0.6 over 2 s.
        let stageOne = EmotionTrack(
            emotions: ["sad", "happy", "neutral"], times: [0, 2],
            alpha: [0.2, 0.2, 0.6, 0.2, 0.6, 0.2].map { $0 * 5 })
        #expect(CandidateKind.parse("window:1.4") == .window(1.4) && CandidateKind.parse("window:0") == nil)
        let generator = CandidateGenerator(kinds: [.mean, .window(1.4)], seed: 1)
        #expect(generator.windowLengths == [1.4])
        let candidates = generator.candidates(from: track, key: 0, windowTracks: [1.4: stageOne])
        #expect(candidates[1].times == track.times && candidates[1].emotions == track.emotions)
        for frame in [0, 5, 20] {
            let w = track.times[frame] / 2
            let m = candidates[1].mixture(frame: frame)
            #expect(abs(m[0] - (0.6 - 0.4 * w)) < 1e-9 && abs(m[1] - (0.2 + 0.4 * w)) < 1e-9 && abs(m[2] - 0.2) < 1e-9)
        }
    }

    @Test func gammaAndDirichletDrawsHaveTheRightMoments() {
        var random = SeededRandom(seed: 99)
        for shape in [0.3, 1.0, 4.5] {
            let draws = (0..<20_000).map { _ in CandidateGenerator.sampleGamma(shape: shape, random: &random) }
            let mean = draws.reduce(0, +) / Double(draws.count)
            let variance = draws.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(draws.count)
            // Gamma(a, 1): mean a, variance a; 20 000 draws give about 1-2% standard error.
            #expect(abs(mean - shape) < 0.05 * shape + 0.01, "shape \(shape) mean \(mean)")
            #expect(abs(variance - shape) < 0.1 * shape + 0.02, "shape \(shape) variance \(variance)")
        }
        let alpha = [2.0, 5.0, 1.0]
        var sums = [0.0, 0.0, 0.0]
        for _ in 0..<10_000 {
            let y = CandidateGenerator.sampleDirichlet(alpha, random: &random)
            for i in 0..<3 { sums[i] += y[i] }
        }
        for i in 0..<3 { #expect(abs(sums[i] / 10_000 - alpha[i] / 8) < 0.01) }
    }

    @Test func simulatedAnnotatorPrefersTheCandidateCloserToTheTruth() throws {
        let track = Self.track()
        // Truth: happy after 1 s, neutral before.
        let truth = EmotionTrack(
            emotions: Self.emotions, times: track.times,
            alpha: track.times.flatMap { $0 < 1 ? [1000, 1e-6, 1e-6] : [1e-6, 1000, 1e-6] })
        let candidates = CandidateGenerator(seed: 1).candidates(from: track, key: 0)
        let paths = (0..<candidates.count).map { "c\($0).json" }
        let preferences = try SimulatedAnnotator().judge(clip: "line.wav", candidates: candidates, paths: paths, truth: truth)
        let errors = try candidates.map { try MixtureError.meanAbsoluteError(prediction: $0, truth: truth) }
        #expect(preferences.count == 10)
        for preference in preferences {
            #expect(preference.annotator == "simulated-ground-truth" && preference.isSimulated)
            let w = paths.firstIndex(of: preference.winner)!, l = paths.firstIndex(of: preference.loser)!
            #expect(errors[w] < errors[l])
        }
        // The sharpened candidate beats the flattened one here (the model leans the right way).
        #expect(errors[1] < errors[2])
        // With every judgement flipped, every pair goes the other way.
        let flipped = try SimulatedAnnotator(flipProbability: 1).judge(clip: "line.wav", candidates: candidates, paths: paths, truth: truth)
        #expect(zip(flipped, preferences).allSatisfy { $0.chosen != $1.chosen })
    }

    @Test func mixtureErrorInterpolatesThePredictionOntoTheTruthFrames() throws {
        let emotions = ["neutral", "happy"]
        let truth = EmotionTrack(emotions: emotions, times: [0, 0.5, 1], alpha: [1, 1, 1, 1, 1, 1])  // 0.5 / 0.5 throughout
        // Prediction at 0 and 1 s only: (1, 0) -> (0, 1), so 0.5 s reads (0.5, 0.5).
        let prediction = EmotionTrack(emotions: ["happy", "neutral"], times: [0, 1], alpha: [1e-9, 1, 1, 1e-9])
        let mae = try MixtureError.meanAbsoluteError(prediction: prediction, truth: truth)
        #expect(abs(mae - (0.5 + 0 + 0.5) * 2 / 6) < 1e-6)
        let mismatched = EmotionTrack(emotions: ["neutral", "sad"], times: [0], alpha: [1, 1])
        #expect(throws: TrainingError.self) { try MixtureError.meanAbsoluteError(prediction: mismatched, truth: truth) }
    }
}
