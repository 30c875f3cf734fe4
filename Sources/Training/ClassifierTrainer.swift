import Common
import EmotionCore
import Foundation
import JSONIO
import Neural
import Recognition

/// Settings of a Stage 1 classifier training run (the defaults are the shipped model's).
public struct ClassifierTrainingSettings: Sendable, Equatable {
    public enum Loss: String, CaseIterable, Sendable {
        /// The paper's Dirichlet head and NLL (plus `meanCrossEntropyWeight` times the
        /// cross-entropy of the Dirichlet mean, see `ClassifierTrainer`).
        case dirichlet
        /// Softmax head and cross-entropy: the baseline.
        case ce
    }

    public var loss: Loss = .dirichlet
    public var epochs = 35
    public var batchSize = 32
    public var peakRate = 2e-3
    public var warmupEpochs = 3
    public var weightDecay = 1e-2
    public var clipNorm = 5.0
    public var seed: UInt64 = 1
    /// Dirichlet targets: one-hot labels smoothed to (1 - s) onehot + s / K.
    public var labelSmoothing = 0.1
    /// Dirichlet: each clip's NLL target is this model's mixture on the same crop (smoothed
    /// the same way) instead of its one-hot label: the teacher's ranking of the other
    /// emotions is kept (distillation; typically the cross-entropy model training starts
    /// from). The mean cross-entropy term keeps the labels.
    public var teacherModel: String?
    /// Dirichlet: weight of the mean cross-entropy term added to the NLL (0 = pure NLL).
    public var meanCrossEntropyWeight = 1.0
    /// Dirichlet: the first epochs train the mean cross-entropy alone (a warm start).
    public var warmStartEpochs = 0
    /// Speed variants precomputed for speed perturbation (1 is the original).
    public var speeds = [0.9, 0.95, 1.0, 1.05, 1.1]
    public var augmentation = AugmentationSettings()
    public var threads = 2
    /// Clean training clips that re-estimate batch norm's statistics for each epoch's
    /// validation (see `BatchNormRecalibration`); 0 validates with the running statistics.
    public var recalibrationClips = 512
    /// Weight each clip's loss by N / (K n_class), so that every class counts the same
    /// (RAVDESS with calm merged has 1.5 times as many neutral clips as any other class).
    public var balanceClasses = true
    /// Start from this model's weights (a CE warm start for Dirichlet fine-tuning): the
    /// convolutions and batch norm always, the classifier when its head matches.
    public var initialModel: String?
    /// Train the classifier only: the convolutions and batch norm stay as they are (batch
    /// norm on its running statistics), so the head learns on fixed features.
    public var trainHeadOnly = false
    /// Average the weights of the last N epochs into the final model, with batch norm's
    /// statistics re-estimated for the average on every training clip (stochastic weight
    /// averaging at the end of the cosine schedule); 0 or 1 keeps the last epoch's weights.
    public var averageEpochs = 0

    public init() {}

    /// Everything that changes the result, as text: a resumed run must match it.
    var fingerprintText: String {
        let a = augmentation
        return ([
            "loss=\(loss.rawValue)", "epochs=\(epochs)", "batch=\(batchSize)", "rate=\(peakRate)", "warmup=\(warmupEpochs)",
            "decay=\(weightDecay)", "clip=\(clipNorm)", "seed=\(seed)", "smoothing=\(labelSmoothing)",
            "meanCE=\(meanCrossEntropyWeight)", "warmStart=\(warmStartEpochs)", "speeds=\(speeds)",
            "augment=\(a.speedProbability),\(a.gainDecibels),\(a.noiseProbability),\(a.noiseSNR),\(a.frequencyMasks),\(a.frequencyMaskWidth),\(a.timeMasks),\(a.timeMaskWidth),\(a.cropFrames),\(a.minimumCropFrames ?? -1)",
            "threads=\(threads)", "recalibration=\(recalibrationClips)", "balance=\(balanceClasses)", "init=\(initialModel ?? "-")", "headOnly=\(trainHeadOnly)",
        ] + (averageEpochs > 1 ? ["average=\(averageEpochs)"] : []) + (teacherModel.map { ["teacher=\($0)"] } ?? [])).joined(separator: ";")
    }
}

/// One epoch's figures.
public struct EpochReport: Sendable, Equatable {
    public var epoch: Int
    public var loss: Double
    public var trainAccuracy: Double
    public var learningRate: Double
    public var seconds: Double
    public var validation: ClassifierMetrics?
    /// Accuracy, UA and mixture MAE of an epoch read back from a checkpoint (whose full
    /// metrics are not stored).
    public var restoredValidation: (accuracy: Double, unweightedAccuracy: Double, mixtureMAE: Double)?

    public init(epoch: Int, loss: Double, trainAccuracy: Double, learningRate: Double, seconds: Double, validation: ClassifierMetrics?) {
        self.epoch = epoch
        self.loss = loss
        self.trainAccuracy = trainAccuracy
        self.learningRate = learningRate
        self.seconds = seconds
        self.validation = validation
    }

    /// Validation accuracy, UA and mixture MAE, from the metrics or a checkpoint.
    public var validationSummary: (accuracy: Double, unweightedAccuracy: Double, mixtureMAE: Double)? {
        if let validation { return (validation.accuracy, validation.unweightedAccuracy, validation.mixtureMAE) }
        return restoredValidation
    }

    public static func == (a: EpochReport, b: EpochReport) -> Bool {
        a.epoch == b.epoch && a.loss == b.loss && a.trainAccuracy == b.trainAccuracy && a.learningRate == b.learningRate
            && a.validation == b.validation
    }

    /// The figures with fixed decimals (training.json); `precise` keeps the loss exactly
    /// (checkpoints, so that a resumed run's history equals an uninterrupted one's).
    public func json(precise: Bool = false) -> JSONValue {
        var object = JSONObject([
            ("epoch", .integer(Int64(epoch))),
            ("loss", precise ? .number(loss) : .decimal(loss, places: 5)),
            ("train_accuracy", .decimal(trainAccuracy, places: 4)),
            ("learning_rate", .decimal(learningRate, places: 7)),
            ("seconds", .decimal(seconds, places: 1)),
        ])
        if let summary = validationSummary {
            object["validation_accuracy"] = .decimal(summary.accuracy, places: 4)
            object["validation_unweighted_accuracy"] = .decimal(summary.unweightedAccuracy, places: 4)
            object["validation_mixture_mae"] = .decimal(summary.mixtureMAE, places: 4)
        }
        return .object(object)
    }
}

/// The training loss of a classifier's raw outputs, shared by the compact model and the
/// head-only trainer: cross-entropy of softmax(x) for `.ce`; for `.dirichlet`, the Dirichlet
/// NLL of smoothed targets plus `meanCrossEntropyWeight` times the cross-entropy of the
/// Dirichlet mean (the mean alone during the first `warmStartEpochs`).
public enum ClassifierLoss {
    /// - classWeights: per class, weighting each sample's loss (nil: all equal).
    public static func compute(
        _ tape: Tape, outputs: Variable, labels: [Int], settings: ClassifierTrainingSettings, completedEpochs: Int,
        classWeights: [Double]? = nil, teacherMixtures: [[Double]]? = nil
    ) -> Variable {
        let classes = outputs.shape[1]
        let oneHot = labels.map { label in (0..<classes).map { $0 == label ? 1.0 : 0.0 } }
        let weights = classWeights.map { w in labels.map { w[$0] } }
        switch settings.loss {
        case .ce:
            return tape.crossEntropy(outputs, targets: oneHot, weights: weights)
        case .dirichlet:
            let meanCE = tape.dirichletMeanCrossEntropy(outputs, targets: oneHot, weights: weights)
            if completedEpochs < settings.warmStartEpochs { return meanCE }
            let smoothed =
                teacherMixtures.map { rows in rows.map { Dirichlet.smoothedTarget($0, epsilon: settings.labelSmoothing) } }
                ?? labels.map { Targets.smoothedOneHot(label: $0, classes: classes, smoothing: settings.labelSmoothing) }
            let nll = tape.dirichletNegativeLogLikelihood(outputs, targets: smoothed, weights: weights)
            guard settings.meanCrossEntropyWeight > 0 else { return nll }
            return tape.weightedSum(nll, 1, meanCE, Float(settings.meanCrossEntropyWeight))
        }
    }
}

/// Trains the compact model on a feature bank: AdamW, warm-up + cosine schedule, gradient
/// clipping, augmentation, a validation pass after each epoch, checkpoints and resume.
///
/// The Dirichlet head needs care (see MODEL-NOTES): the NLL of smoothed one-hot targets can be
/// lowered by making every prediction sparse whatever the input, so on its own it learns
/// slowly and can ignore classes. The loss here is
///   NLL(y_smoothed | alpha) + w * CE(onehot, alpha / sum alpha),
/// where the second term, the cross-entropy of the Dirichlet mean, pushes the mean toward the
/// label as a classifier's loss does while the NLL shapes the concentration. The classifier
/// bias starts at 1 so alpha starts near 1 with a non-zero gradient. Optionally the first
/// `warmStartEpochs` use the mean cross-entropy alone.
///
/// Runs are deterministic: one seed drives the initial weights, the data order, augmentation
/// and dropout; with the same thread count the result is bit-identical, also across a resume.
public final class ClassifierTrainer {
    public let configuration: CompactModelConfiguration
    public let settings: ClassifierTrainingSettings
    public let network: CompactNetwork
    public let optimizer: AdamW
    public let schedule: WarmupCosineSchedule
    public internal(set) var completedEpochs = 0
    public internal(set) var history: [EpochReport] = []
    /// Drives shuffling and augmentation.
    var dataRandom: SeededRandom
    var dropoutRandom: SeededRandom
    let train: BatchMaker
    /// The training clips without augmentation, for batch-norm recalibration.
    let cleanTrain: BatchMaker
    let validation: BatchMaker?
    let workspace = AutogradWorkspace()
    /// With `averageEpochs`: the sum of the parameters after each averaged epoch so far, by name.
    var averageSum: [String: [Float]] = [:]
    /// N / (K n_c) per class when balancing, else nil.
    public let classWeights: [Double]?
    /// The distillation teacher (`teacherModel`), run in inference mode on each batch.
    public private(set) var teacher: CompactModel?
    let teacherWorkspace = AutogradWorkspace()
    /// Identifies settings + configuration + data, so that a checkpoint resumes only the run it came from.
    public let fingerprint: String

    /// Batches per epoch, as `epochBatches` cuts them (groups of 8 batches, then the rest).
    public var stepsPerEpoch: Int { Self.steps(clips: train.bank.clips.count, batchSize: settings.batchSize) }

    static func steps(clips: Int, batchSize: Int) -> Int {
        let group = batchSize * 8
        return clips / group * 8 + (clips % group + batchSize - 1) / batchSize
    }

    public init(
        configuration: CompactModelConfiguration, settings: ClassifierTrainingSettings, train: FeatureBank,
        validation: FeatureBank?, dataDescription: String
    ) {
        precondition(!train.clips.isEmpty, "ClassifierTrainer: no training clips")
        self.configuration = configuration
        self.settings = settings
        var initRandom = SeededRandom(seed: settings.seed)
        network = CompactNetwork(configuration: configuration, random: &initRandom)
        var adam = AdamW.Settings()
        adam.weightDecay = Float(settings.weightDecay)
        optimizer = AdamW(
            parameters: settings.trainHeadOnly ? network.parameters.filter { $0.name.hasPrefix("classifier.") } : network.parameters,
            settings: adam)
        dataRandom = SeededRandom(seed: settings.seed &+ 0x5EED_0001)
        dropoutRandom = SeededRandom(seed: settings.seed &+ 0x5EED_0002)
        let extractor = LogMelExtractor(settings: configuration.features)
        self.train = BatchMaker(bank: train, extractor: extractor, augmentation: settings.augmentation, minimumFrames: configuration.timeReduction)
        var clean = AugmentationSettings.none
        clean.cropFrames = settings.augmentation.cropFrames
        self.cleanTrain = BatchMaker(bank: train, extractor: extractor, augmentation: clean, minimumFrames: configuration.timeReduction)
        var plain = AugmentationSettings.none
        plain.cropFrames = 0
        self.validation = validation.map { BatchMaker(bank: $0, extractor: extractor, augmentation: plain, minimumFrames: configuration.timeReduction) }
        if settings.balanceClasses {
            var counts = [Int](repeating: 0, count: configuration.emotions.count)
            for clip in train.clips { counts[clip.label] += 1 }
            let total = Double(train.clips.count), classes = Double(counts.filter { $0 > 0 }.count)
            classWeights = counts.map { $0 == 0 ? 0 : total / (classes * Double($0)) }
        } else {
            classWeights = nil
        }
        let steps = Self.steps(clips: train.clips.count, batchSize: settings.batchSize)
        schedule = WarmupCosineSchedule(peak: settings.peakRate, warmupSteps: settings.warmupEpochs * steps, totalSteps: settings.epochs * steps)
        let configText = (try? JSONCodec.serialize(configuration.json, style: .compact)) ?? ""
        fingerprint = SHA256.hex(of: settings.fingerprintText + "\n" + configText + "\n" + dataDescription)
        AutogradThreads.useForTraining(settings.threads)
        AutogradMemory.keepFreedBuffers()
    }

    /// Sets the distillation teacher (see `ClassifierTrainingSettings.teacherModel`); its
    /// emotions and features must be this run's.
    public func useTeacher(_ model: CompactModel) throws {
        guard model.configuration.emotions == configuration.emotions, model.configuration.features == configuration.features else {
            throw TrainingError("teacher.mismatch", "the teacher model's emotions or features differ from this run's")
        }
        teacher = model
    }

    /// The teacher's mixture for each clip of a batch (nil without a teacher).
    func teacherMixtures(features: Variable, validFrames: [Int], count: Int) -> [[Double]]? {
        guard let teacher, settings.loss == .dirichlet else { return nil }
        var unused = SeededRandom(seed: 0)
        let outputs = teacher.network.forward(
            Tape.inference(), features: features, validFrames: validFrames, workspace: teacherWorkspace, dropoutRandom: &unused)
        let classes = configuration.emotions.count
        return (0..<count).map { n in
            let alpha = teacher.network.alpha(fromOutputs: outputs.value[(n * classes)..<((n + 1) * classes)])
            let total = alpha.reduce(0, +)
            return alpha.map { $0 / total }
        }
    }

    /// The loss of one batch of raw outputs.
    func loss(_ tape: Tape, outputs: Variable, labels: [Int], teacherMixtures: [[Double]]? = nil) -> Variable {
        ClassifierLoss.compute(
            tape, outputs: outputs, labels: labels, settings: settings, completedEpochs: completedEpochs, classWeights: classWeights,
            teacherMixtures: teacherMixtures)
    }

    /// Trains one epoch, validates, and returns its report. `progress(batch, batches)` is
    /// called after each batch.
    @discardableResult
    public func runEpoch(progress: ((Int, Int) -> Void)? = nil) -> EpochReport {
        let start = Date()
        let batchList = epochBatches()
        var totalLoss = 0.0, correct = 0, seen = 0
        var lastRate = 0.0
        let batches = batchList.count
        for (batchIndex, indices) in batchList.enumerated() {
            let batch = train.batch(indices, augment: true, random: &dataRandom)
            let mixtures = teacherMixtures(features: batch.features, validFrames: batch.validFrames, count: batch.labels.count)
            let tape = Tape()
            optimizer.zeroGradients()
            let outputs: Variable
            if settings.trainHeadOnly {
                let pooled = network.pooledFeatures(Tape.inference(), features: batch.features, validFrames: batch.validFrames, workspace: workspace)
                outputs = network.classify(tape, pooled: pooled, dropoutRandom: &dropoutRandom)
            } else {
                outputs = network.forward(tape, features: batch.features, validFrames: batch.validFrames, workspace: workspace, dropoutRandom: &dropoutRandom)
            }
            let lossValue = loss(tape, outputs: outputs, labels: batch.labels, teacherMixtures: mixtures)
            tape.backward(from: lossValue)
            optimizer.clipGradients(maximum: settings.clipNorm)
            lastRate = schedule.rate(step: optimizer.step)
            optimizer.update(rate: Float(lastRate))
            totalLoss += Double(lossValue.value[0]) * Double(indices.count)
            let classes = configuration.emotions.count
            for (n, label) in batch.labels.enumerated() {
                let alpha = network.alpha(fromOutputs: outputs.value[(n * classes)..<((n + 1) * classes)])
                var best = 0
                for i in 1..<classes where alpha[i] > alpha[best] { best = i }
                if best == label { correct += 1 }
            }
            seen += indices.count
            progress?(batchIndex + 1, batches)
        }
        completedEpochs += 1
        if averagesEpoch(completedEpochs) {
            accumulateAverage()
            if completedEpochs == settings.epochs { applyAverage() }
        }
        // Validation: the running statistics lag behind weights that move fast at a high
        // learning rate, so mid-run each validation uses recalibrated statistics on a copy;
        // the last epoch validates the model as it will be saved.
        let metrics: ClassifierMetrics?
        if completedEpochs < settings.epochs && settings.recalibrationClips > 0 && validation != nil && !settings.trainHeadOnly {
            let layers = Array(network.layers.joined())
            let saved = layers.map { ($0.statistics.mean, $0.statistics.variance) }
            recalibrateBatchNorm()
            metrics = validate()
            for (layer, statistics) in zip(layers, saved) { (layer.statistics.mean, layer.statistics.variance) = statistics }
        } else {
            metrics = validate()
        }
        let report = EpochReport(
            epoch: completedEpochs, loss: totalLoss / Double(seen), trainAccuracy: Double(correct) / Double(seen),
            learningRate: lastRate, seconds: Date().timeIntervalSince(start), validation: metrics)
        history.append(report)
        return report
    }

    /// Whether the weights after this (1-based) epoch join the final average.
    func averagesEpoch(_ epoch: Int) -> Bool {
        settings.averageEpochs > 1 && epoch > settings.epochs - settings.averageEpochs
    }

    /// Epochs averaged so far.
    var averagedEpochs: Int {
        settings.averageEpochs > 1 ? max(0, completedEpochs - max(0, settings.epochs - settings.averageEpochs)) : 0
    }

    func accumulateAverage() {
        for (name, variable, _) in network.parameters {
            if var sum = averageSum[name] {
                for i in sum.indices { sum[i] += variable.value[i] }
                averageSum[name] = sum
            } else {
                averageSum[name] = variable.value
            }
        }
    }

    /// Replaces the weights by their average over the averaged epochs, then re-estimates batch
    /// norm's statistics for them on every training clip (clean): the average of the epochs'
    /// running statistics does not belong to the averaged weights (as in SWA's batch-norm
    /// update). With a frozen network (`trainHeadOnly`) only the classifier is averaged.
    func applyAverage() {
        let scale = 1 / Float(averagedEpochs)
        for (name, variable, _) in network.parameters where !settings.trainHeadOnly || name.hasPrefix("classifier.") {
            variable.value = averageSum[name]!.map { $0 * scale }
        }
        if !settings.trainHeadOnly { recalibrateBatchNorm(clips: train.bank.clips.count) }
    }

    /// The epoch's batches: clips shuffled, then sorted by length within groups of 8 batches
    /// and cut into batches, whose order is shuffled again. Clips of similar length share a
    /// batch, so little is padded (padding costs compute and dilutes batch-norm statistics),
    /// while each group still mixes random clips.
    func epochBatches() -> [[Int]] {
        var order = Array(train.bank.clips.indices)
        dataRandom.shuffle(&order)
        let original = train.bank.speeds.firstIndex(of: 1) ?? 0
        let group = settings.batchSize * 8
        var batches: [[Int]] = []
        var start = 0
        while start < order.count {
            let members = order[start..<min(order.count, start + group)].sorted { a, b in
                let (la, lb) = (train.bank.clips[a].variants[original].frames, train.bank.clips[b].variants[original].frames)
                return la != lb ? la < lb : a < b
            }
            var offset = 0
            while offset < members.count {
                batches.append(Array(members[offset..<min(members.count, offset + settings.batchSize)]))
                offset += settings.batchSize
            }
            start += group
        }
        dataRandom.shuffle(&batches)
        return batches
    }

    /// Re-estimates batch norm's statistics on the first `clips` (default
    /// `recalibrationClips`) training clips of a fixed order (independent of the data
    /// generator, so resumes stay exact). The train command uses every clip at the end.
    public func recalibrateBatchNorm(clips: Int? = nil) {
        let count = clips ?? settings.recalibrationClips
        guard count > 0 else { return }
        var order = Array(train.bank.clips.indices)
        var fixed = SeededRandom(seed: settings.seed &+ 0x5EED_0003)
        fixed.shuffle(&order)
        BatchNormRecalibration.run(
            network: network, maker: cleanTrain, clips: Array(order.prefix(count)), batchSize: settings.batchSize,
            workspace: workspace)
    }

    /// Scores every validation clip whole (no crop, no augmentation), as `emobake eval` does.
    public func validate() -> ClassifierMetrics? {
        guard let validation, !validation.bank.clips.isEmpty else { return nil }
        var alphas: [[Double]] = []
        var labels: [Int] = []
        var unused = SeededRandom(seed: 0)
        for index in validation.bank.clips.indices {
            let batch = validation.batch([index], augment: false, random: &unused)
            let outputs = network.forward(
                Tape.inference(), features: batch.features, validFrames: batch.validFrames, workspace: workspace, dropoutRandom: &unused)
            alphas.append(network.alpha(fromOutputs: outputs.value[...]))
            labels.append(batch.labels[0])
        }
        return ClassifierMetrics(alphas: alphas, labels: labels, emotions: configuration.emotions)
    }

    /// The trained model as it stands.
    public func model(identifier: String = "emobake-compact-v1") -> CompactModel {
        CompactModel(network: network, identifier: identifier)
    }
}

extension ClassifierTrainer {
    /// Copies another compact model's weights in before training: convolutions and batch norm
    /// (parameters and running statistics) always, the classifier only when the head is the
    /// same kind (a softmax classifier's weights mean nothing to alpha = x^2). The shapes must
    /// match this configuration.
    public func start(from initial: CompactModel) throws {
        guard initial.configuration.channels == configuration.channels,
            initial.configuration.convolutionsPerBlock == configuration.convolutionsPerBlock,
            initial.configuration.emotions == configuration.emotions,
            initial.configuration.features == configuration.features
        else {
            throw TrainingError("init.mismatch", "the initial model's architecture, features or emotions differ from this run's")
        }
        let keepClassifier = initial.configuration.head == configuration.head
        let source = initial.network.stateTensors
        for (name, variable, _) in network.parameters where keepClassifier || !name.hasPrefix("classifier.") {
            variable.value = source[name]!.data
        }
        for (mine, theirs) in zip(network.layers.joined(), initial.network.layers.joined()) {
            mine.statistics.mean = theirs.statistics.mean
            mine.statistics.variance = theirs.statistics.variance
        }
    }
}
