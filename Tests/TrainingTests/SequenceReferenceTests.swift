import AudioIO
import Foundation
import JSONIO
import Recognition
import TestSupport
import Testing
import Training

/// The sequence model against PyTorch on the committed tiny model (Fixtures/review/
/// tiny-sequence-model, made by scripts/make_sequence_reference.py from
/// scripts/sequence_model_torch.py): features, raw outputs and alpha of three signals.
@Suite struct SequenceReferenceTests {
    static let directory = TestPaths.fixtures.appendingPathComponent("review/tiny-sequence-model")
    static let reference: JSONValue = try! JSONCodec.parse(contentsOf: directory.appendingPathComponent("reference.json"))

    /// The script's signal: two tones switching halfway, with a deterministic buzz.
    static func signal(_ count: Int) -> [Float] {
        (0..<count).map { n in
            let t = Double(n) / 16_000
            let tone = n < count / 2 ? 0.4 * sin(2 * Double.pi * 330 * t) : 0.2 * sin(2 * Double.pi * 880 * t + 0.5) + 0.1 * sin(2 * Double.pi * 2500 * t)
            return Float(tone + 0.02 * Double((n * 7919) % 101 - 50) / 50)
        }
    }

    @Test(arguments: [24_000, 9_000, 400])
    func matchesPyTorch(samples count: Int) throws {
        let model = try SequenceModel.load(directory: Self.directory)
        let expected = try #require(Self.reference["signals"]?[String(count)])
        let audio = AudioBuffer(samples: Self.signal(count), sampleRate: 16_000)
        let (features, frames) = SequenceExample.features(of: audio, model: model)
        #expect(frames == expected["frames"]!.intValue!)
        expectClose(features, expected["features"]!.arrayValue!.map { Float($0.doubleValue!) }, tolerance: 2e-3, "features of \(count) samples")
        let outputs = model.outputs(features: features, frames: frames)
        expectClose(outputs, expected["outputs"]!.arrayValue!.map { Float($0.doubleValue!) }, tolerance: 2e-3, "outputs of \(count) samples")
        // Whole clip and small chunks give PyTorch's alpha.
        let expectedAlpha = expected["alpha"]!.arrayValue!.map { $0.doubleValue! }
        for chunk in [1000.0, 0.3] {
            let track = try SequencePredictor(chunkSeconds: chunk).predict(audio, model: model, source: "signal")
            #expect(track.alpha.count == expectedAlpha.count)
            for (a, b) in zip(track.alpha, expectedAlpha) { #expect(abs(a - b) <= 5e-3 * max(1, b), "chunks of \(chunk) s") }
        }
    }
}
