import AudioIO
import Common
import Foundation
import JSONIO
import Neural
import Recognition

/// The parameter-efficient option: a frozen wav2vec2 backbone (any Hugging Face checkpoint the
/// runtime loads) and a trained linear head on the mean over frames of its last hidden state,
/// the architecture of the runtime's `EmoBakeWav2Vec2Dirichlet` models.
///
/// The backbone runs once per clip (its pooled features are all the head needs); the head then
/// trains for many epochs in seconds. The written model folder is the backbone's checkpoint
/// plus the head: `EmoBakeWav2Vec2Dirichlet` (alpha = x^2 + 1e-6) for the Dirichlet loss, or
/// `Wav2Vec2ForSequenceClassification` with an identity projector for cross-entropy (the mean
/// commutes with a linear projector, so this is the same head), which `ModelLoader` opens.
public final class HeadTrainer {
    public let emotions: [String]
    public let settings: ClassifierTrainingSettings
    public let hiddenSize: Int
    public let weight: Variable  // (K, hidden)
    public let bias: Variable  // (K)
    public let optimizer: AdamW
    public private(set) var completedEpochs = 0
    var random: SeededRandom

    public init(hiddenSize: Int, emotions: [String], settings: ClassifierTrainingSettings) {
        self.hiddenSize = hiddenSize
        self.emotions = emotions
        self.settings = settings
        var initial = SeededRandom(seed: settings.seed)
        let bound = 1 / Double(hiddenSize).squareRoot()
        weight = Variable(
            shape: [emotions.count, hiddenSize], value: (0..<(emotions.count * hiddenSize)).map { _ in Float(initial.uniform(-bound, bound) * 0.1) },
            requiresGradient: true)
        // Bias 1 for the Dirichlet head: alpha starts near 1 with a non-zero gradient.
        bias = Variable(
            shape: [emotions.count], value: [Float](repeating: settings.loss == .dirichlet ? 1 : 0, count: emotions.count), requiresGradient: true)
        var adam = AdamW.Settings()
        adam.weightDecay = Float(settings.weightDecay)
        optimizer = AdamW(parameters: [("head.weight", weight, true), ("head.bias", bias, false)], settings: adam)
        random = SeededRandom(seed: settings.seed &+ 0x5EED_0001)
    }

    /// Does the checkpoint normalise its input? The precedence of `ModelLoader`:
    /// preprocessor_config.json's do_normalize, then config.json's, then true.
    public static func normalizesInput(backbone directory: URL) throws -> Bool {
        let preprocessor = directory.appendingPathComponent("preprocessor_config.json")
        if FileManager.default.fileExists(atPath: preprocessor.path),
            let flag = try JSONField(try JSONCodec.parse(contentsOf: preprocessor), source: preprocessor.path).optional("do_normalize")?.bool()
        {
            return flag
        }
        let config = directory.appendingPathComponent("config.json")
        return try JSONField(try JSONCodec.parse(contentsOf: config), source: config.path).optional("do_normalize")?.bool() ?? true
    }

    /// Mean over frames of the backbone's last hidden state, one row per clip.
    public static func pooledFeatures(
        backbone: Wav2Vec2Backbone, clips: [LabelledClip], normalize: Bool, progress: ((Int, Int) -> Void)? = nil
    ) throws -> [[Float]] {
        try clips.enumerated().map { index, clip in
            var samples = try AudioDecoder.read(clip.url).samples
            let row = try pooledFeatures(backbone: backbone, samples: &samples, normalize: normalize)
            progress?(index + 1, clips.count)
            return row
        }
    }

    public static func pooledFeatures(backbone: Wav2Vec2Backbone, samples: inout [Float], normalize: Bool) throws -> [Float] {
        if normalize { Wav2Vec2EmotionModel.normalize(&samples) }
        let states = try backbone.lastHiddenState(samples)
        let (frames, width) = (states.shape[0], states.shape[1])
        var mean = [Double](repeating: 0, count: width)
        for t in 0..<frames { for d in 0..<width { mean[d] += Double(states.data[t * width + d]) } }
        return mean.map { Float($0 / Double(frames)) }
    }

    /// Raw head outputs x (N, K) for pooled features.
    func outputs(_ tape: Tape, _ rows: [[Float]]) -> Variable {
        let input = Variable(shape: [rows.count, hiddenSize], value: rows.flatMap { $0 })
        return tape.linear(input, weight: weight, bias: bias)
    }

    /// One epoch of minibatches over shuffled clips; returns the mean loss.
    @discardableResult
    public func runEpoch(features: [[Float]], labels: [Int], schedule: WarmupCosineSchedule) -> Double {
        var order = Array(features.indices)
        random.shuffle(&order)
        var total = 0.0
        var start = 0
        while start < order.count {
            let batch = Array(order[start..<min(order.count, start + settings.batchSize)])
            let tape = Tape()
            optimizer.zeroGradients()
            let x = outputs(tape, batch.map { features[$0] })
            let loss = ClassifierLoss.compute(tape, outputs: x, labels: batch.map { labels[$0] }, settings: settings, completedEpochs: completedEpochs)
            tape.backward(from: loss)
            optimizer.clipGradients(maximum: settings.clipNorm)
            optimizer.update(rate: Float(schedule.rate(step: optimizer.step)))
            total += Double(loss.value[0]) * Double(batch.count)
            start += settings.batchSize
        }
        completedEpochs += 1
        return total / Double(features.count)
    }

    /// Dirichlet parameters for pooled features, as the written model will compute them.
    public func alpha(_ rows: [[Float]]) -> [[Double]] {
        let x = outputs(Tape.inference(), rows)
        let classes = emotions.count
        return (0..<rows.count).map { n in
            let row = x.value[(n * classes)..<((n + 1) * classes)]
            switch settings.loss {
            case .dirichlet:
                return row.map(CompactModelConfiguration.Head.dirichletAlpha)
            case .ce:
                let largest = Double(row.max()!)
                let exps = row.map { exp(Double($0) - largest) }
                let sum = exps.reduce(0, +)
                return exps.map { $0 / sum * Wav2Vec2EmotionModel.classifierConcentration }
            }
        }
    }

    public func validate(features: [[Float]], labels: [Int]) -> ClassifierMetrics {
        ClassifierMetrics(alphas: alpha(features), labels: labels, emotions: emotions)
    }

    /// Writes the backbone's checkpoint with this head into `output` (config.json +
    /// model.safetensors); head tensors of the source checkpoint are left out.
    public func write(backbone source: URL, normalize: Bool, to output: URL) throws {
        let configURL = source.appendingPathComponent("config.json")
        guard var config = try JSONCodec.parse(contentsOf: configURL).objectValue else {
            throw TrainingError("head.config", "\(configURL.path): expected a JSON object")
        }
        config["do_normalize"] = .bool(normalize)
        let weightsURL = source.appendingPathComponent("model.safetensors")
        let file = try SafetensorsFile(url: weightsURL)
        var tensors: [String: Tensor] = [:]
        let headPrefixes = ["head.", "classifier.", "projector.", "lm_head.", "layer_weights"]
        for name in file.names where !headPrefixes.contains(where: { name.hasPrefix($0) }) {
            tensors[name] = try file.tensor(name)
        }
        let headWeight = Tensor(shape: weight.shape, data: weight.value), headBias = Tensor(shape: bias.shape, data: bias.value)
        switch settings.loss {
        case .dirichlet:
            config["architectures"] = .array(["EmoBakeWav2Vec2Dirichlet"])
            config["emotions"] = .array(emotions.map { .string($0) })
            tensors["head.weight"] = headWeight
            tensors["head.bias"] = headBias
        case .ce:
            config["architectures"] = .array(["Wav2Vec2ForSequenceClassification"])
            config["id2label"] = .object(JSONObject(emotions.enumerated().map { (String($0.offset), JSONValue.string($0.element)) }))
            config["label2id"] = .object(JSONObject(emotions.enumerated().map { ($0.element, JSONValue.integer(Int64($0.offset))) }))
            config["classifier_proj_size"] = .integer(Int64(hiddenSize))
            config["use_weighted_layer_sum"] = false
            var identity = [Float](repeating: 0, count: hiddenSize * hiddenSize)
            for d in 0..<hiddenSize { identity[d * hiddenSize + d] = 1 }
            tensors["projector.weight"] = Tensor(shape: [hiddenSize, hiddenSize], data: identity)
            tensors["projector.bias"] = Tensor(zeros: [hiddenSize])
            tensors["classifier.weight"] = headWeight
            tensors["classifier.bias"] = headBias
        }
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        try SafetensorsWriter.write(tensors, metadata: ["format": "pt"], to: output.appendingPathComponent("model.safetensors"))
        try AtomicFile.write(try JSONCodec.serialize(.object(config)), to: output.appendingPathComponent("config.json"))
    }
}
