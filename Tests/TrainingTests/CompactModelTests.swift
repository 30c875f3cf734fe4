import Foundation
import JSONIO
import Neural
import Recognition
import TestSupport
import Testing

/// The compact model (log-mel front end + CNN) against PyTorch on the committed tiny model
/// (Fixtures/training/compact-tiny, made by scripts/make_training_reference.py).
@Suite struct CompactModelTests {
    static let directory = TestPaths.fixtures.appendingPathComponent("training/compact-tiny")

    /// Silence, a two-tone burst with a deterministic buzz, silence; the script's formula.
    static func signal(_ count: Int) -> [Float] {
        (0..<count).map { n in
            let t = Double(n) / 16000
            let tone = 0.5 * sin(2 * Double.pi * 440 * t) + 0.25 * sin(2 * Double.pi * 3000 * t + 0.3)
            let buzz = 0.02 * Double((n * 7919) % 101 - 50) / 50
            let envelope: Double = (n >= count / 4 && n < 3 * count / 4) ? 1 : 0
            return Float((tone + buzz) * envelope + 0.0005 * sin(2 * Double.pi * 50 * t))
        }
    }

    static let reference: JSONValue = try! JSONCodec.parse(contentsOf: directory.appendingPathComponent("reference.json"))

    @Test(arguments: [8000, 19200, 2000])
    func matchesPyTorch(samples count: Int) throws {
        let model = try CompactModel.load(directory: Self.directory)
        let expected = try #require(Self.reference["signals"]?[String(count)])
        let samples = Self.signal(count)
        let range = model.extractor.speechRange(samples[...])
        #expect([range.lowerBound, range.upperBound] == expected["speechRange"]!.arrayValue!.map { $0.intValue! })
        let (features, frames, valid) = model.features(samples[...])
        #expect(valid == expected["frames"]!.intValue!)
        #expect([model.configuration.features.melBins, frames] == expected["featureShape"]!.arrayValue!.map { $0.intValue! })
        let expectedFeatures = expected["features"]!.arrayValue!.map { Float($0.doubleValue!) }
        expectClose(features, expectedFeatures, tolerance: 2e-3, "features of \(count) samples")
        let outputs = model.outputs(features: features, frames: frames, validFrames: valid)
        expectClose(outputs, expected["outputs"]!.arrayValue!.map { Float($0.doubleValue!) }, tolerance: 1e-3, "outputs")
        let alpha = try model.alpha(for: samples[...])
        let expectedAlpha = expected["alpha"]!.arrayValue!.map { $0.doubleValue! }
        for (a, b) in zip(alpha, expectedAlpha) { #expect(abs(a - b) <= 2e-3 * max(1, b)) }
    }

    @Test func writeThenLoadGivesTheSameModel() throws {
        let model = try CompactModel.load(directory: Self.directory)
        let copy = TestPaths.temporaryDirectory("compact-copy")
        defer { try? FileManager.default.removeItem(at: copy) }
        try model.write(to: copy)
        let again = try CompactModel.load(directory: copy)
        #expect(again.configuration == model.configuration)
        #expect(again.network.stateTensors == model.network.stateTensors)
        let samples = Self.signal(12_000)
        #expect(try again.alpha(for: samples[...]) == model.alpha(for: samples[...]))
        // Writing is deterministic: the same bytes twice.
        let second = TestPaths.temporaryDirectory("compact-copy2")
        defer { try? FileManager.default.removeItem(at: second) }
        try again.write(to: second)
        for file in ["config.json", "model.safetensors"] {
            #expect(try Data(contentsOf: copy.appendingPathComponent(file)) == Data(contentsOf: second.appendingPathComponent(file)))
        }
    }

    @Test func badModelDirectoriesGiveOneLineErrorsNamingTheFile() throws {
        let folder = TestPaths.temporaryDirectory("compact-bad")
        defer { try? FileManager.default.removeItem(at: folder) }
        // No config at all.
        #expect(throws: (any Error).self) { try CompactModel.load(directory: folder) }
        let config = try String(contentsOf: Self.directory.appendingPathComponent("config.json"), encoding: .utf8)
        try config.replacingOccurrences(of: "\"dirichlet\"", with: "\"sigmoid\"").write(
            to: folder.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        do {
            _ = try CompactModel.load(directory: folder)
            Issue.record("loaded a config with an unknown head")
        } catch let error as JSONError {
            #expect(error.message.contains("config.json: head"))
        }
        try config.write(to: folder.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        do {
            _ = try CompactModel.load(directory: folder)
            Issue.record("loaded a model without weights")
        } catch let error as RecognitionError {
            #expect(error.message.contains("model.safetensors"))
        }
        // Weights of another architecture: a tensor has the wrong shape.
        var object = try #require(try JSONCodec.parse(Data(config.utf8), source: "config.json").objectValue)
        object["channels"] = [4, 6, 9]
        try JSONCodec.serialize(.object(object)).write(to: folder.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(
            at: Self.directory.appendingPathComponent("model.safetensors"), to: folder.appendingPathComponent("model.safetensors"))
        do {
            _ = try CompactModel.load(directory: folder)
            Issue.record("loaded weights of the wrong shape")
        } catch let error as NeuralError {
            #expect(error.message.contains("has shape"))
        }
    }

    @Test func emptyAndNonFiniteWindowsAreRefused() throws {
        let model = try CompactModel.load(directory: Self.directory)
        #expect(throws: RecognitionError.self) { try model.alpha(for: [][...]) }
        #expect(throws: RecognitionError.self) { try model.alpha(for: [0.1, .nan, 0.2][...]) }
        // A very short window still gives K positive values.
        let alpha = try model.alpha(for: Self.signal(300)[...])
        #expect(alpha.count == 7 && alpha.allSatisfy { $0 > 0 && $0.isFinite })
    }
}
