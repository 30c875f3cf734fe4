import EmotionCore
import Foundation
import Testing

@testable import Batch

@Suite("Emotion hint prior")
struct EmotionHintTests {
    static let emotions = ["neutral", "happy", "sad", "angry"]

    static func track(_ rows: [[Double]]) -> EmotionTrack {
        EmotionTrack(emotions: emotions, times: rows.indices.map { Double($0) * 0.1 }, alpha: rows.flatMap { $0 })
    }

    @Test(arguments: [0.0, 0.25, 0.5, 2.0])
    func theMixtureMovesTowardTheHintByAFixedShare(_ strength: Double) throws {
        // A confident frame (concentration 100) and an unsure one (concentration 2).
        let input = Self.track([[70, 10, 10, 10], [0.5, 0.5, 0.5, 0.5]])
        let output = try EmotionHint.apply("angry", strength: strength, to: input)
        for frame in 0..<2 {
            let before = input.mixture(frame: frame)
            let after = output.mixture(frame: frame)
            // m'_h = (m_h + s) / (1 + s); m'_i = m_i / (1 + s).
            #expect(abs(after[3] - (before[3] + strength) / (1 + strength)) < 1e-12)
            for i in 0..<3 { #expect(abs(after[i] - before[i] / (1 + strength)) < 1e-12) }
            #expect(abs(output.concentration(frame: frame) - input.concentration(frame: frame) * (1 + strength)) < 1e-9)
        }
        if strength == 0.5 {
            // Worked example: angry 0.1 -> (0.1 + 0.5) / 1.5 = 0.4; neutral 0.7 -> 0.7 / 1.5.
            #expect(abs(output.mixture(frame: 0)[3] - 0.4) < 1e-12)
            #expect(abs(output.mixture(frame: 0)[0] - 0.7 / 1.5) < 1e-12)
            #expect(output.dominantEmotion == "angry")
        }
    }

    @Test func spellingsFromOtherToolsMatch() throws {
        let output = try EmotionHint.apply("Anger", strength: 1, to: Self.track([[1, 1, 1, 1]]))
        #expect(output.alpha == [1, 1, 1, 5])
    }

    @Test func unknownHintsNameTheEmotionsThatExist() {
        let error = #expect(throws: BatchError.self) { try EmotionHint.apply("bored", strength: 0.5, to: Self.track([[1, 1, 1, 1]])) }
        #expect(error?.message == "emotion hint \"bored\" is not one of the model's emotions (neutral, happy, sad, angry)")
    }
}
