import AudioIO
import Foundation
import JSONIO
import Recognition
import TestSupport
import Testing
import Training

/// The sequence model against PyTorch on the committed tiny models (Fixtures/review/
/// tiny-sequence-model: per-frame layout; tiny-pooled-sequence-model: window mean and local
/// normalisation, as `train sequence` makes them; both made by
/// scripts/make_sequence_reference.py from scripts/sequence_model_torch.py): features, raw
/// outputs and alpha of three signals.
@Suite struct SequenceReferenceTests {
    static let fixtures = ["tiny-sequence-model", "tiny-pooled-sequence-model"]

    /// The script's signal: two tones switching halfway, with a deterministic buzz and hiss
    /// (white noise from a 32-bit LCG).
    static func signal(_ count: Int) -> [Float] {
        var state: UInt32 = 12345
        return (0..<count).map { n in
            let t = Double(n) / 16_000
            let tone = n < count / 2 ? 0.4 * sin(2 * Double.pi * 330 * t) : 0.2 * sin(2 * Double.pi * 880 * t + 0.5) + 0.1 * sin(2 * Double.pi * 2500 * t)
            state = 1_664_525 &* state &+ 1_013_904_223
            let hiss = Double(state >> 8) / 16_777_216 - 0.5
            return Float(tone + 0.02 * Double((n * 7919) % 101 - 50) / 50 + 0.01 * hiss)
        }
    }

    @Test(arguments: fixtures, [24_000, 9_000, 400])
    func matchesPyTorch(fixture: String, samples count: Int) throws {
        let directory = TestPaths.fixtures.appendingPathComponent("review/\(fixture)")
        let reference = try JSONCodec.parse(contentsOf: directory.appendingPathComponent("reference.json"))
        let model = try SequenceModel.load(directory: directory)
        let expected = try #require(reference["signals"]?[String(count)])
        let audio = AudioBuffer(samples: Self.signal(count), sampleRate: 16_000)
        let (features, frames) = SequenceExample.features(of: audio, model: model)
        #expect(frames == expected["frames"]!.intValue!)
        expectClose(features, expected["features"]!.arrayValue!.map { Float($0.doubleValue!) }, tolerance: 2e-3, "\(fixture): features of \(count) samples")
        let outputs = model.outputs(features: features, frames: frames)
        expectClose(outputs, expected["outputs"]!.arrayValue!.map { Float($0.doubleValue!) }, tolerance: 2e-3, "\(fixture): outputs of \(count) samples")
        // Whole clip and small chunks give PyTorch's alpha.
        let expectedAlpha = expected["alpha"]!.arrayValue!.map { $0.doubleValue! }
        for chunk in [1000.0, 0.3] {
            let track = try SequencePredictor(chunkSeconds: chunk).predict(audio, model: model, source: "signal")
            #expect(track.alpha.count == expectedAlpha.count)
            for (a, b) in zip(track.alpha, expectedAlpha) { #expect(abs(a - b) <= 5e-3 * max(1, b), "\(fixture): chunks of \(chunk) s") }
        }
    }
}
