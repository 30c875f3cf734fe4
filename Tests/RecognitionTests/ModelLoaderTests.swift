import Foundation
import Neural
import Testing
import TestSupport

@testable import Recognition

@Suite("ModelLoader: dispatch and errors")
struct ModelLoaderTests {
    let folder = TestPaths.temporaryDirectory("models")

    /// A copy of a fixture model, with `edit` applied to its config and tensors.
    func variant(_ name: String, of fixture: String, config edit: (inout String) -> Void = { _ in }, tensors: ((inout [String: Tensor]) -> Void)? = nil) throws -> URL {
        let source = TestPaths.fixtures.appendingPathComponent("models/\(fixture)")
        let target = folder.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
        var config = try String(contentsOf: source.appendingPathComponent("config.json"), encoding: .utf8)
        edit(&config)
        try config.write(to: target.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        let weights = try SafetensorsFile(url: source.appendingPathComponent("model.safetensors"))
        var all: [String: Tensor] = [:]
        for name in weights.names { all[name] = try weights.tensor(name) }
        tensors?(&all)
        try SafetensorsWriter.write(all, to: target.appendingPathComponent("model.safetensors"))
        return target
    }

    func expectError(_ code: String, _ url: URL, mentioning words: [String]) {
        do {
            _ = try ModelLoader.load(directory: url)
            Issue.record("\(url.lastPathComponent) loaded, expected \(code)")
        } catch let error as RecognitionError {
            #expect(error.code == code, "\(error.message)")
            #expect(!error.message.contains("\n"))
            for word in words { #expect(error.message.contains(word), "\(error.message)") }
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func loadsEachFixtureWithItsHead() throws {
        let dirichlet = try ModelLoader.load(directory: TestPaths.fixtures.appendingPathComponent("models/tiny-wav2vec2-base-dirichlet"))
        #expect(dirichlet.emotions.count == 7)
        #expect(dirichlet.identifier.contains("Dirichlet"))
        let classifier = try ModelLoader.load(directory: TestPaths.fixtures.appendingPathComponent("models/tiny-wav2vec2-classifier"))
        #expect(classifier.emotions == ["angry", "happy", "neutral", "sad"])
    }

    @Test func reportsWhatIsWrong() throws {
        expectError("model.missing", folder.appendingPathComponent("nowhere"), mentioning: ["nowhere"])
        let empty = folder.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        expectError("model.noConfig", empty, mentioning: ["config.json"])
        expectError("model.noHead", TestPaths.fixtures.appendingPathComponent("models/tiny-wav2vec2-stable"), mentioning: ["Wav2Vec2Model"])
        let other = try variant("bert", of: "tiny-wav2vec2-stable") { $0 = $0.replacingOccurrences(of: "\"model_type\": \"wav2vec2\"", with: "\"model_type\": \"bert\"") }
        expectError("model.unsupported", other, mentioning: ["\"bert\""])
        let noTensor = try variant("missing-tensor", of: "tiny-wav2vec2-base-dirichlet", tensors: { $0["wav2vec2.encoder.layers.1.attention.k_proj.weight"] = nil })
        expectError("safetensors.missingTensor", noTensor, mentioning: ["wav2vec2.encoder.layers.1.attention.k_proj.weight"])
        let wrongShape = try variant("wrong-shape", of: "tiny-wav2vec2-base-dirichlet", tensors: { $0["head.weight"] = Tensor(zeros: [3, 36]) })
        expectError("safetensors.shape", wrongShape, mentioning: ["head.weight", "(3, 36)", "(7, 36)"])
        let badConfig = try variant("bad-config", of: "tiny-wav2vec2-base-dirichlet") { $0 = $0.replacingOccurrences(of: "\"num_attention_heads\": 4", with: "\"num_attention_heads\": 5") }
        expectError("json.field", badConfig, mentioning: ["num_attention_heads 5"])
        let relu = try variant("relu", of: "tiny-wav2vec2-base-dirichlet") { $0 = $0.replacingOccurrences(of: "\"hidden_act\": \"gelu\"", with: "\"hidden_act\": \"relu\"") }
        expectError("json.field", relu, mentioning: ["hidden_act", "relu"])
    }

    @Test func weightNormAlreadyFoldedLoadsToo() throws {
        // Some exports store the positional conv's plain `weight`; it must give the same output.
        let folded = try variant("folded", of: "tiny-wav2vec2-stable", tensors: { all in
            let g = all.removeValue(forKey: "encoder.pos_conv_embed.conv.parametrizations.weight.original0")!
            let v = all.removeValue(forKey: "encoder.pos_conv_embed.conv.parametrizations.weight.original1")!
            all["encoder.pos_conv_embed.conv.weight"] = Tensor(
                shape: v.shape, data: weightNormKernelDimension(g: g.data, v: v.data, out: v.shape[0], input: v.shape[1], kernel: v.shape[2]))
        })
        let reference = try SafetensorsFile(url: TestPaths.fixtures.appendingPathComponent("models/tiny-wav2vec2-stable/reference.safetensors"))
        let input = try reference.tensor("input").data
        let output = try ModelLoader.loadWav2Vec2Backbone(directory: folded).lastHiddenState(input).data
        let expected = try reference.tensor("last_hidden_state").data
        #expect(zip(output, expected).allSatisfy { abs($0 - $1) <= 1e-4 })
    }
}
