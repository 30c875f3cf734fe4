import AudioIO
import Common
import EmotionCore
import Foundation
import JSONIO
import Neural
import Recognition

/// One clip prepared for sequence training: its normalised features and, per output frame,
/// the mixture the model should reproduce (Stage 1's sliding-window predictions), plus the
/// ground truth when the clip is a synthetic dialogue.
public struct SequenceExample: Sendable {
    public var identifier: String
    /// mels x frames, normalised with the clip's own statistics.
    public var features: [Float]
    public var frames: Int
    /// Output frames x K target mixtures (rows sum to 1).
    public var targets: [Double]
    public var truth: EmotionTrack?

    public init(identifier: String, features: [Float], frames: Int, targets: [Double], truth: EmotionTrack?) {
        self.identifier = identifier
        self.features = features
        self.frames = frames
        self.targets = targets
        self.truth = truth
    }

    /// Features of a decoded clip for `model` (whole-clip statistics, as `SequencePredictor`).
    public static func features(of audio: AudioBuffer, model: SequenceModel) -> (values: [Float], frames: Int) {
        let (frames, power) = model.extractor.melPower(audio.samples[...])
        var statistics = SequenceModel.FeatureStatistics(melBins: model.configuration.backbone.features.melBins)
        statistics.add(power: power, frames: frames, floor: Float(model.configuration.backbone.features.logFloor))
        return (model.normalisedFeatures(power: power, frames: frames, statistics: statistics), frames)
    }

    /// The output frames' times for a clip of `frames` log-mel frames.
    public static func outputTimes(frames: Int, configuration: SequenceModelConfiguration) -> [Double] {
        (0..<max(1, frames / configuration.timeReduction)).map { configuration.time(ofFrame: $0) }
    }

    /// An example whose targets are a teacher's track (Stage 1 over sliding windows), read at
    /// the sequence model's frame times by linear interpolation.
    public static func make(
        identifier: String, audio: AudioBuffer, teacherTrack: EmotionTrack, truth: EmotionTrack?, model: SequenceModel
    ) throws -> SequenceExample {
        try make(identifier: identifier, audio: audio, teacherTracks: [teacherTrack], truth: truth, model: model)
    }

    /// Targets from several teacher tracks (for example windows of different lengths): the
    /// mean of their mixtures, each read at the sequence model's frame times.
    public static func make(
        identifier: String, audio: AudioBuffer, teacherTracks: [EmotionTrack], truth: EmotionTrack?, model: SequenceModel
    ) throws -> SequenceExample {
        guard !teacherTracks.isEmpty else { throw TrainingError("sequence.targets", "\(identifier): no teacher track") }
        for track in teacherTracks where track.emotions != model.emotions {
            throw TrainingError(
                "sequence.emotions", "\(identifier): the teacher's emotions \(track.emotions) differ from the sequence model's \(model.emotions)")
        }
        let (features, frames) = features(of: audio, model: model)
        let times = outputTimes(frames: frames, configuration: model.configuration)
        let k = model.emotions.count
        var targets = [Double](repeating: 0, count: times.count * k)
        for track in teacherTracks {
            for (frame, row) in MixtureError.mixtures(of: track, at: times).enumerated() {
                for i in 0..<k { targets[frame * k + i] += row[i] / Double(teacherTracks.count) }
            }
        }
        return SequenceExample(identifier: identifier, features: features, frames: frames, targets: targets, truth: truth)
    }
}

/// Settings of a Stage 2 run.
public struct SequenceTrainingSettings: Sendable, Equatable {
    public enum Loss: String, Sendable, CaseIterable {
        /// Per-frame Dirichlet NLL of the (smoothed) target mixture, plus `meanCrossEntropyWeight`
        /// times the cross-entropy of the Dirichlet mean (as Stage 1 trains).
        case dirichlet
        /// Per-frame cross-entropy of softmax(x) against the target mixture (soft labels).
        case ce
    }

    public var loss: Loss = .dirichlet
    public var epochs = 12
    public var batchSize = 8
    /// Seconds of each training crop (all crops of a batch have one length).
    public var cropSeconds = 4.0
    public var peakRate = 1e-3
    public var warmupEpochs = 1
    public var weightDecay = 1e-2
    public var clipNorm = 5.0
    public var seed: UInt64 = 1
    /// Dirichlet targets are smoothed onto the open simplex: (1 - s) y + s / K.
    public var targetSmoothing = 0.02
    public var meanCrossEntropyWeight = 1.0
    public var threads = 2
    /// Train only the temporal blocks and the head; the backbone keeps Stage 1's weights.
    public var freezeBackbone = false
    /// Targets are sharpened (below 1) or softened (above 1) before the loss, as in knowledge
    /// distillation: y_i^(1/T) / sum_j y_j^(1/T). 1 leaves the teacher's mixtures as they are.
    public var targetTemperature = 1.0

    public init() {}

    public var json: JSONValue {
        .object(
            JSONObject([
                ("loss", .string(loss.rawValue)), ("epochs", .integer(Int64(epochs))), ("batch_size", .integer(Int64(batchSize))),
                ("crop_seconds", .number(cropSeconds)), ("learning_rate", .number(peakRate)), ("warmup_epochs", .integer(Int64(warmupEpochs))),
                ("weight_decay", .number(weightDecay)), ("clip_norm", .number(clipNorm)), ("seed", .integer(Int64(bitPattern: seed))),
                ("target_smoothing", .number(targetSmoothing)), ("mean_ce_weight", .number(meanCrossEntropyWeight)),
                ("threads", .integer(Int64(threads))), ("freeze_backbone", .bool(freezeBackbone)),
                ("target_temperature", .number(targetTemperature)),
            ]))
    }
}

/// Figures of a set of examples under the current network.
public struct SequenceValidation: Sendable, Equatable {
    /// Mixture MAE against the ground truth (examples that have one).
    public var truthMAE: Double?
    /// Mixture MAE against the targets (how closely the teacher is reproduced).
    public var targetMAE: Double
}

public struct SequenceEpochReport: Sendable {
    public var epoch: Int
    public var loss: Double
    public var learningRate: Double
    public var seconds: Double
    public var validation: SequenceValidation?

    public var json: JSONValue {
        var object = JSONObject([
            ("epoch", .integer(Int64(epoch))), ("loss", .decimal(loss, places: 5)), ("learning_rate", .decimal(learningRate, places: 7)),
            ("seconds", .decimal(seconds, places: 1)),
        ])
        if let validation {
            object["validation_target_mae"] = .decimal(validation.targetMAE, places: 4)
            if let truth = validation.truthMAE { object["validation_truth_mae"] = .decimal(truth, places: 4) }
        }
        return .object(object)
    }
}

/// Stage 2: trains a sequence network to reproduce, per frame and in one pass over a clip,
/// the mixtures that Stage 1 gives over sliding windows. AdamW with warm-up and cosine decay,
/// gradient clipping, random crops of `cropSeconds` aligned to output frames. Deterministic
/// for a seed and thread count.
public final class SequenceTrainer {
    public let network: SequenceNetwork
    public let settings: SequenceTrainingSettings
    public let optimizer: AdamW
    public let schedule: WarmupCosineSchedule
    public let train: [SequenceExample]
    public let validation: [SequenceExample]
    public private(set) var completedEpochs = 0
    public private(set) var history: [SequenceEpochReport] = []
    var random: SeededRandom
    let workspace = AutogradWorkspace()

    public var stepsPerEpoch: Int { (train.count + settings.batchSize - 1) / settings.batchSize }

    public init(network: SequenceNetwork, settings: SequenceTrainingSettings, train: [SequenceExample], validation: [SequenceExample]) {
        precondition(!train.isEmpty, "SequenceTrainer: no training examples")
        self.network = network
        self.settings = settings
        self.train = train
        self.validation = validation
        var adam = AdamW.Settings()
        adam.weightDecay = Float(settings.weightDecay)
        let trained = network.parameters.filter { parameter in
            !settings.freezeBackbone || !parameter.name.hasPrefix("backbone.") || parameter.name.hasPrefix("backbone.classifier.")
        }
        optimizer = AdamW(parameters: trained, settings: adam)
        let steps = (train.count + settings.batchSize - 1) / settings.batchSize
        schedule = WarmupCosineSchedule(peak: settings.peakRate, warmupSteps: settings.warmupEpochs * steps, totalSteps: settings.epochs * steps)
        random = SeededRandom(seed: settings.seed &+ 0x5E0_0001)
        AutogradThreads.useForTraining(settings.threads)
        AutogradMemory.keepFreedBuffers()
    }

    /// The loss of raw outputs (rows of K) against target mixtures (rows of K).
    func loss(_ tape: Tape, outputs: Variable, targets: [[Double]], weights: [Double]? = nil) -> Variable {
        switch settings.loss {
        case .ce:
            return tape.crossEntropy(outputs, targets: targets, weights: weights)
        case .dirichlet:
            let smoothed = targets.map { Dirichlet.smoothedTarget($0, epsilon: settings.targetSmoothing) }
            let nll = tape.dirichletNegativeLogLikelihood(outputs, targets: smoothed, weights: weights)
            guard settings.meanCrossEntropyWeight > 0 else { return nll }
            return tape.weightedSum(
                nll, 1, tape.dirichletMeanCrossEntropy(outputs, targets: targets, weights: weights), Float(settings.meanCrossEntropyWeight))
        }
    }

    /// Output frames at each end of a crop that see past it (the window mean's half width and
    /// one frame of the backbone's reach): the crop's zero padding is not the clip's audio, so
    /// these frames do not count in the loss unless the crop's end is the clip's.
    var cropMargin: Int { network.configuration.windowPoolFrames / 2 + 1 }

    /// Crops of one length from the examples `indices`: features (1, N, mels, frames), the
    /// matching target rows and their loss weights (0 near a crop's cut ends, see `cropMargin`).
    func batch(_ indices: [Int]) -> (features: Variable, targets: [[Double]], weights: [Double]) {
        let configuration = network.configuration
        let reduction = configuration.timeReduction
        let mels = configuration.backbone.features.melBins
        let k = configuration.emotions.count
        let wanted = max(1, Int((settings.cropSeconds * configuration.frameRate).rounded()))
        let outputs = min(wanted, indices.map { train[$0].frames / reduction }.min()!)
        let frames = outputs * reduction
        var values = [Float](repeating: 0, count: indices.count * mels * frames)
        var targets: [[Double]] = []
        var weights: [Double] = []
        for (n, index) in indices.enumerated() {
            let example = train[index]
            let available = example.frames / reduction
            let startOutput = available > outputs ? random.below(available - outputs + 1) : 0
            let start = startOutput * reduction
            for m in 0..<mels {
                for t in 0..<frames { values[(n * mels + m) * frames + t] = example.features[m * example.frames + start + t] }
            }
            let margin = network.configuration.windowPoolFrames > 1 ? cropMargin : 0
            for j in 0..<outputs {
                let row = startOutput + j
                targets.append(Self.sharpen(example.targets[(row * k)..<((row + 1) * k)], temperature: settings.targetTemperature))
                let cutBefore = startOutput > 0 && j < margin
                let cutAfter = startOutput + outputs < available && j >= outputs - margin
                weights.append(cutBefore || cutAfter ? 0 : 1)
            }
        }
        if !weights.contains(where: { $0 > 0 }) { weights = weights.map { _ in 1 } }  // crops too short for a margin: keep every row
        return (Variable(shape: [1, indices.count, mels, frames], value: values), targets, weights)
    }

    /// y_i^(1/T) / sum_j y_j^(1/T) (y itself when T is 1).
    static func sharpen(_ row: ArraySlice<Double>, temperature: Double) -> [Double] {
        guard temperature != 1 else { return Array(row) }
        let powered = row.map { pow(max($0, 1e-12), 1 / temperature) }
        let total = powered.reduce(0, +)
        return powered.map { $0 / total }
    }

    @discardableResult
    public func runEpoch(progress: ((Int, Int) -> Void)? = nil) -> SequenceEpochReport {
        let started = Date()
        var order = Array(train.indices)
        random.shuffle(&order)
        var total = 0.0, count = 0
        var rate = 0.0
        for step in 0..<stepsPerEpoch {
            let indices = Array(order[(step * settings.batchSize)..<min(order.count, (step + 1) * settings.batchSize)])
            let (features, targets, weights) = batch(indices)
            let tape = SequenceNetwork.trainingTape()
            optimizer.zeroGradients()
            let outputs = network.forward(tape, features: features, workspace: workspace)
            let value = loss(tape, outputs: outputs, targets: targets, weights: weights)
            tape.backward(from: value)
            optimizer.clipGradients(maximum: settings.clipNorm)
            rate = schedule.rate(step: optimizer.step)
            optimizer.update(rate: Float(rate))
            total += Double(value.value[0]) * Double(indices.count)
            count += indices.count
            progress?(step + 1, stepsPerEpoch)
        }
        completedEpochs += 1
        let report = SequenceEpochReport(
            epoch: completedEpochs, loss: total / Double(count), learningRate: rate, seconds: Date().timeIntervalSince(started),
            validation: validation.isEmpty ? nil : evaluate(validation))
        history.append(report)
        return report
    }

    /// The mean training loss over whole examples (no crops), without updating anything.
    public func loss(on examples: [SequenceExample]) -> Double {
        var total = 0.0
        let k = network.configuration.emotions.count
        for example in examples {
            let input = Variable(shape: [1, 1, network.configuration.backbone.features.melBins, example.frames], value: example.features)
            let outputs = network.forward(Tape.inference(), features: input, workspace: workspace)
            let rows = outputs.count / k
            let targets = (0..<rows).map { Array(example.targets[($0 * k)..<(($0 + 1) * k)]) }
            total += Double(loss(Tape.inference(), outputs: outputs, targets: targets).value[0])
        }
        return total / Double(max(1, examples.count))
    }

    /// Whole-clip predictions of the examples, scored against targets and truth.
    public func evaluate(_ examples: [SequenceExample]) -> SequenceValidation {
        var targetSum = 0.0, targetCount = 0
        var truthSum = 0.0, truthCount = 0
        for example in examples {
            let track = predict(example)
            let mixtures = track.mixtures
            for index in 0..<min(mixtures.count, example.targets.count) {
                targetSum += abs(mixtures[index] - example.targets[index])
                targetCount += 1
            }
            if let truth = example.truth, let (sum, n) = try? MixtureError.absoluteErrorSum(prediction: track, truth: truth) {
                truthSum += sum
                truthCount += n
            }
        }
        return SequenceValidation(
            truthMAE: truthCount > 0 ? truthSum / Double(truthCount) : nil, targetMAE: targetSum / Double(max(1, targetCount)))
    }

    /// The network's track for one example (whole clip, one pass).
    public func predict(_ example: SequenceExample) -> EmotionTrack {
        let configuration = network.configuration
        let input = Variable(shape: [1, 1, configuration.backbone.features.melBins, example.frames], value: example.features)
        let outputs = network.forward(Tape.inference(), features: input, workspace: workspace)
        let alpha = network.alpha(fromOutputs: outputs.value)
        let times = SequenceExample.outputTimes(frames: example.frames, configuration: configuration)
        return EmotionTrack(emotions: configuration.emotions, times: times, alpha: alpha, source: example.identifier)
    }
}

