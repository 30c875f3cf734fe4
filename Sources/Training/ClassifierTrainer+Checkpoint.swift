import Common
import Foundation
import JSONIO
import Neural
import Recognition

/// Checkpoints: everything a run needs to continue exactly where it stopped.
///
/// `state.safetensors` holds the model (parameters and batch-norm statistics, under
/// "model.") and AdamW's moments ("adam.m.", "adam.v."), and with weight averaging the sum of
/// the averaged epochs' parameters ("average."); `state.json` holds the epoch, the
/// optimizer step, both random generators' states, the run's fingerprint and the history.
/// Each file is written atomically and both carry the epoch, so a checkpoint interrupted
/// between the two files is detected instead of half-loaded.
extension ClassifierTrainer {
    public static let checkpointWeights = "state.safetensors"
    public static let checkpointState = "state.json"

    public func saveCheckpoint(to directory: URL) throws {
        var tensors: [String: Tensor] = [:]
        for (name, tensor) in network.stateTensors { tensors["model.\(name)"] = tensor }
        for (index, parameter) in optimizer.parameters.enumerated() {
            tensors["adam.m.\(parameter.name)"] = Tensor(shape: parameter.variable.shape, data: optimizer.firstMoments[index])
            tensors["adam.v.\(parameter.name)"] = Tensor(shape: parameter.variable.shape, data: optimizer.secondMoments[index])
        }
        for (name, sum) in averageSum { tensors["average.\(name)"] = Tensor(shape: [sum.count], data: sum) }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try SafetensorsWriter.write(
            tensors, metadata: ["epoch": String(completedEpochs), "fingerprint": fingerprint],
            to: directory.appendingPathComponent(Self.checkpointWeights))
        let state: JSONValue = .object(
            JSONObject([
                ("format_version", 1),
                ("fingerprint", .string(fingerprint)),
                ("epoch", .integer(Int64(completedEpochs))),
                ("optimizer_step", .integer(Int64(optimizer.step))),
                ("data_random", .array(dataRandom.words.map { .string(String($0, radix: 16)) })),
                ("dropout_random", .array(dropoutRandom.words.map { .string(String($0, radix: 16)) })),
                ("history", .array(history.map { $0.json(precise: true) })),
            ]))
        try AtomicFile.write(try JSONCodec.serialize(state), to: directory.appendingPathComponent(Self.checkpointState))
    }

    /// Restores a checkpoint of this same run (same settings, configuration and data).
    public func resume(from directory: URL) throws {
        let stateURL = directory.appendingPathComponent(Self.checkpointState)
        let root = JSONField(try JSONCodec.parse(contentsOf: stateURL), source: stateURL.path)
        let savedFingerprint = try root.required("fingerprint").string()
        guard savedFingerprint == fingerprint else {
            throw TrainingError(
                "checkpoint.mismatch",
                "\(stateURL.path): this checkpoint belongs to a run with other settings, model configuration or data; start afresh or pass the same options")
        }
        let epoch = try root.required("epoch").int()
        guard (0...settings.epochs).contains(epoch) else { throw try root.required("epoch").fail("epoch \(epoch) is outside 0...\(settings.epochs)") }
        func generator(_ key: String) throws -> SeededRandom {
            let field = try root.required(key)
            let words = try field.array().map { item -> UInt64 in
                guard let word = UInt64(try item.string(), radix: 16) else { throw item.fail("expected a hexadecimal word") }
                return word
            }
            guard words.count == 4 else { throw field.fail("expected four words") }
            return SeededRandom(words: words)
        }
        let restoredData = try generator("data_random")
        let restoredDropout = try generator("dropout_random")
        let step = try root.required("optimizer_step").int()
        let weightsURL = directory.appendingPathComponent(Self.checkpointWeights)
        let file = try SafetensorsFile(url: weightsURL)
        guard file.metadata["epoch"] == String(epoch), file.metadata["fingerprint"] == fingerprint else {
            throw TrainingError("checkpoint.inconsistent", "\(weightsURL.path): does not match \(stateURL.lastPathComponent) (an interrupted save?); start afresh")
        }
        try network.load { name, shape in try file.tensor("model.\(name)", shape: shape) }
        for (index, parameter) in optimizer.parameters.enumerated() {
            optimizer.firstMoments[index] = try file.tensor("adam.m.\(parameter.name)", shape: parameter.variable.shape).data
            optimizer.secondMoments[index] = try file.tensor("adam.v.\(parameter.name)", shape: parameter.variable.shape).data
        }
        var sums: [String: [Float]] = [:]
        if settings.averageEpochs > 1 && epoch > settings.epochs - settings.averageEpochs {
            for (name, variable, _) in network.parameters {
                sums[name] = try file.tensor("average.\(name)", shape: [variable.count]).data
            }
        }
        averageSum = sums
        optimizer.step = step
        dataRandom = restoredData
        dropoutRandom = restoredDropout
        completedEpochs = epoch
        history = try root.required("history").array().map { try EpochReport(json: $0) }
    }
}

extension EpochReport {
    /// Reads back what `json` wrote (validation figures come back as a summary only).
    init(json field: JSONField) throws {
        epoch = try field.required("epoch").int()
        loss = try field.required("loss").double()
        trainAccuracy = try field.required("train_accuracy").double()
        learningRate = try field.required("learning_rate").double()
        seconds = try field.required("seconds").double()
        validation = nil
        if let accuracy = try field.optional("validation_accuracy")?.double() {
            restoredValidation = (
                accuracy, try field.required("validation_unweighted_accuracy").double(), try field.required("validation_mixture_mae").double()
            )
        }
    }
}
