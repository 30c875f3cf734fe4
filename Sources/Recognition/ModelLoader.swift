import Common
import Foundation
import JSONIO
import Neural

/// Opens a model directory (`config.json` + `model.safetensors`) as an `EmotionModel`,
/// choosing the architecture from config.json's `model_type` and `architectures`.
public enum ModelLoader {
    public static func load(directory: URL) throws -> any EmotionModel {
        let configURL = directory.appendingPathComponent("config.json")
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw RecognitionError("model.missing", "\(directory.path): no such model folder")
        }
        guard FileManager.default.fileExists(atPath: configURL.path) else {
            throw RecognitionError("model.noConfig", "\(configURL.path): missing (a model folder holds config.json and model.safetensors)")
        }
        let root = try wrap { JSONField(try JSONCodec.parse(contentsOf: configURL), source: configURL.path) }
        let modelType = try wrap { try root.optional("model_type")?.string() ?? "" }
        let architectures = try wrap { try root.optional("architectures")?.strings() ?? [] }

        // The one place that maps a model type to its implementation.
        switch modelType {
        case "wav2vec2":
            return try loadWav2Vec2(directory: directory, root: root, architectures: architectures)
        case CompactModelConfiguration.modelType:
            return try wrap { try CompactModel.load(directory: directory) }
        default:
            throw RecognitionError(
                "model.unsupported",
                "\(configURL.path): model_type \"\(modelType)\" is not supported (supported: \"wav2vec2\", \"\(CompactModelConfiguration.modelType)\")")
        }
    }

    /// The name a model folder gives itself: the "identifier" in its weights' metadata (EmoBake's
    /// models), else config.json's "identifier" or "name"; nil when none says.
    public static func identifier(ofModelIn directory: URL) -> String? {
        if let file = try? SafetensorsFile(url: directory.appendingPathComponent("model.safetensors")),
            let identifier = file.metadata["identifier"]
        {
            return identifier
        }
        let config = try? JSONCodec.parse(contentsOf: directory.appendingPathComponent("config.json"))
        return config?["identifier"]?.stringValue ?? config?["name"]?.stringValue
    }

    /// A wav2vec2 checkpoint's backbone alone (any head's weights are ignored).
    public static func loadWav2Vec2Backbone(directory: URL) throws -> Wav2Vec2Backbone {
        let configURL = directory.appendingPathComponent("config.json")
        let root = try wrap { JSONField(try JSONCodec.parse(contentsOf: configURL), source: configURL.path) }
        let config = try wrap { try Wav2Vec2Config(json: root) }
        let file = try openWeights(directory)
        return Wav2Vec2Backbone(config: config, weights: try wrap { try Wav2Vec2Weights(file: file, prefix: backbonePrefix(file), config: config) })
    }

    static func loadWav2Vec2(directory: URL, root: JSONField, architectures: [String]) throws -> any EmotionModel {
        let configURL = directory.appendingPathComponent("config.json")
        let config = try wrap { try Wav2Vec2Config(json: root) }
        let file = try openWeights(directory)
        let prefix = backbonePrefix(file)
        let backbone = Wav2Vec2Backbone(config: config, weights: try wrap { try Wav2Vec2Weights(file: file, prefix: prefix, config: config) })
        let normalizes = try wrap { try doNormalize(directory: directory, root: root) }
        let name = directory.standardizedFileURL.lastPathComponent
        if architectures.contains("EmoBakeWav2Vec2Dirichlet") {
            let emotions = try wrap { try root.required("emotions").strings() }
            guard !emotions.isEmpty else { throw RecognitionError("model.config", "\(configURL.path): emotions is empty") }
            let weight = try wrap { try file.tensor("head.weight", shape: [emotions.count, config.hiddenSize]).data }
            let bias = try wrap { try file.tensor("head.bias", shape: [emotions.count]).data }
            return Wav2Vec2EmotionModel(
                backbone: backbone, head: .dirichlet(weight: weight, bias: bias), emotions: emotions, identifier: "\(name) (wav2vec2, Dirichlet head)",
                normalizesInput: normalizes)
        }
        if architectures.contains("Wav2Vec2ForSequenceClassification") {
            let labels = config.labels
            guard !labels.isEmpty else { throw RecognitionError("model.config", "\(configURL.path): id2label is missing or empty") }
            func linear(_ name: String, output: Int, input: Int) throws -> Wav2Vec2Weights.Linear {
                Wav2Vec2Weights.Linear(
                    weight: try file.tensor("\(name).weight", shape: [output, input]).data, bias: try file.tensor("\(name).bias", shape: [output]).data,
                    output: output, input: input)
            }
            let projector = try wrap { try linear("projector", output: config.classifierProjectionSize, input: config.hiddenSize) }
            let classifier = try wrap { try linear("classifier", output: labels.count, input: config.classifierProjectionSize) }
            let layerWeights = config.useWeightedLayerSum ? try wrap { try file.tensor("layer_weights", shape: [config.layers + 1]).data } : nil
            return Wav2Vec2EmotionModel(
                backbone: backbone, head: .sequenceClassification(projector: projector, classifier: classifier, layerWeights: layerWeights),
                emotions: labels, identifier: "\(name) (wav2vec2 sequence classification)", normalizesInput: normalizes)
        }
        throw RecognitionError(
            "model.noHead",
            "\(configURL.path): architectures \(architectures) has no emotion head (expected EmoBakeWav2Vec2Dirichlet or Wav2Vec2ForSequenceClassification)")
    }

    static func openWeights(_ directory: URL) throws -> SafetensorsFile {
        let url = directory.appendingPathComponent("model.safetensors")
        guard FileManager.default.fileExists(atPath: url.path) else {
            let hasPytorchBin = FileManager.default.fileExists(atPath: directory.appendingPathComponent("pytorch_model.bin").path)
            throw RecognitionError(
                "model.noWeights",
                "\(url.path): missing\(hasPytorchBin ? " (pytorch_model.bin is not read: convert it to safetensors)" : "")")
        }
        return try wrap { try SafetensorsFile(url: url) }
    }

    /// "wav2vec2." when the backbone sits under a head (as transformers saves task models).
    static func backbonePrefix(_ file: SafetensorsFile) -> String {
        file.contains("wav2vec2.feature_extractor.conv_layers.0.conv.weight") ? "wav2vec2." : ""
    }

    /// `do_normalize` from preprocessor_config.json, else from config.json, else true (the
    /// feature extractor's default).
    static func doNormalize(directory: URL, root: JSONField) throws -> Bool {
        let preprocessor = directory.appendingPathComponent("preprocessor_config.json")
        if FileManager.default.fileExists(atPath: preprocessor.path) {
            let field = JSONField(try JSONCodec.parse(contentsOf: preprocessor), source: preprocessor.path)
            if let flag = try field.optional("do_normalize")?.bool() { return flag }
        }
        return try root.optional("do_normalize")?.bool() ?? true
    }

    /// Errors from the layers below become RecognitionError with their message kept.
    static func wrap<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as RecognitionError {
            throw error
        } catch let error as any EmoBakeError {
            throw RecognitionError(error.code, error.message)
        }
    }
}
