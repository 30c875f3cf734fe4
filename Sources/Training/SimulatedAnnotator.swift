import EmotionCore
import Foundation
import Neural

/// A stand-in for people in offline experiments and tests: of two candidate tracks it
/// prefers the one closer to the ground truth (lower mixture MAE, `MixtureError`).
///
/// It is not a person, and everything it touches says so: its judgements carry the
/// annotator name `simulated-ground-truth` (`PreferencesFile.simulatedAnnotator`), and
/// reports and model cards built from them name it. `flipProbability` makes it err on
/// purpose (seeded), to mimic disagreeing people; 0 by default.
public struct SimulatedAnnotator: Sendable {
    public static let name = PreferencesFile.simulatedAnnotator

    public var flipProbability: Double
    public var seed: UInt64
    /// Pairs whose MAEs differ by less than this are too close to call and are skipped (a
    /// person could not tell them apart either).
    public var minimumDifference: Double

    public init(flipProbability: Double = 0, seed: UInt64 = 1, minimumDifference: Double = 1e-4) {
        self.flipProbability = flipProbability
        self.seed = seed
        self.minimumDifference = minimumDifference
    }

    /// Judges every pair (i < j) of `candidates` (track files named by `paths`) for one clip.
    /// Returns preferences in pair order; pairs too close to call are left out.
    public func judge(
        clip: String, candidates: [EmotionTrack], paths: [String], truth: EmotionTrack, key: UInt64 = 0
    ) throws -> [Preference] {
        precondition(candidates.count == paths.count, "SimulatedAnnotator: one path per candidate")
        let errors = try candidates.map { try MixtureError.meanAbsoluteError(prediction: $0, truth: truth) }
        var random = SeededRandom(seed: seed &* 0xD1B5_4A32_D192_ED03 &+ key)
        var result: [Preference] = []
        for i in 0..<candidates.count {
            for j in (i + 1)..<candidates.count {
                guard abs(errors[i] - errors[j]) >= minimumDifference else { continue }
                var chosen = errors[i] < errors[j] ? 0 : 1
                if flipProbability > 0 && random.uniform() < flipProbability { chosen = 1 - chosen }
                result.append(
                    Preference(clip: clip, candidates: [paths[i], paths[j]], chosen: chosen, annotator: Self.name, pair: "\(i)-\(j)"))
            }
        }
        return result
    }
}
