import EmotionCore
import Foundation
import Neural
import Recognition
import TestSupport
import Testing
@testable import Training

/// Training end to end on synthetic clips: three "emotions" that are tones in different
/// bands with a noisy onset, so that the task is learnable in a few steps.
@Suite struct TrainerTests {
    /// Class 0: a steady tone with a slow tremolo; 1: a rising sweep; 2: a falling sweep.
    /// (Per-clip normalisation of each mel bin removes a static spectrum, so the classes
    /// differ in how the spectrum moves, as emotions do.)
    static func clip(label: Int, variant: Int) -> [Float] {
        var random = SeededRandom(seed: UInt64(label * 100 + variant))
        let count = 12_000 + 800 * variant
        let duration = Double(count) / 16000
        let low = 400.0 * (1 + 0.1 * Double(variant % 3)), high = 3000.0 * (1 - 0.05 * Double(variant % 2))
        var phase = 0.0
        return (0..<count).map { n in
            let t = Double(n) / 16000
            let progress = t / duration
            let frequency: Double
            switch label {
            case 0: frequency = low * 2
            case 1: frequency = low + (high - low) * progress
            default: frequency = high - (high - low) * progress
            }
            phase += 2 * Double.pi * frequency / 16000
            let tremolo = label == 0 ? 0.6 + 0.4 * sin(2 * Double.pi * 1.5 * t) : 1
            let envelope = min(1, t * 8) * min(1, (duration - t) * 8)
            return Float(0.4 * envelope * tremolo * sin(phase) + 0.01 * random.normal())
        }
    }

    static let configuration = CompactModelConfiguration(
        emotions: ["neutral", "happy", "angry"], channels: [8, 16], convolutionsPerBlock: [1, 1], dropout: 0.1,
        features: {
            var features = LogMelSettings()
            features.melBins = 16
            return features
        }())

    static func bank(clipsPerClass: Int = 4, speeds: [Double] = [0.95, 1, 1.05]) -> FeatureBank {
        let audio = (0..<3).flatMap { label in (0..<clipsPerClass).map { (samples: clip(label: label, variant: $0), label: label) } }
        return FeatureBank.build(audio: audio, extractor: LogMelExtractor(settings: configuration.features), speeds: speeds)
    }

    /// A cross-entropy (softmax head) trainer after `epochs` epochs on `bank`.
    static func trainedCE(_ bank: FeatureBank, epochs: Int) -> ClassifierTrainer {
        var configuration = Self.configuration
        configuration.head = .softmax
        let trainer = ClassifierTrainer(
            configuration: configuration, settings: settings(.ce, epochs: epochs), train: bank, validation: nil, dataDescription: "s")
        for _ in 0..<epochs { trainer.runEpoch() }
        return trainer
    }

    static func settings(_ loss: ClassifierTrainingSettings.Loss, epochs: Int) -> ClassifierTrainingSettings {
        var settings = ClassifierTrainingSettings()
        settings.loss = loss
        settings.epochs = epochs
        settings.batchSize = 4
        settings.warmupEpochs = 1
        settings.peakRate = 3e-2
        settings.speeds = [0.95, 1, 1.05]
        settings.augmentation = .none
        settings.threads = 1
        return settings
    }

    @Test(arguments: ClassifierTrainingSettings.Loss.allCases)
    func theLossFallsAndTheClassesAreLearned(loss: ClassifierTrainingSettings.Loss) throws {
        var configuration = Self.configuration
        configuration.head = loss == .ce ? .softmax : .dirichlet
        let bank = Self.bank(clipsPerClass: 6)
        let trainer = ClassifierTrainer(
            configuration: configuration, settings: Self.settings(loss, epochs: 15), train: bank, validation: Self.bank(clipsPerClass: 3, speeds: [1]),
            dataDescription: "synthetic")
        let before = try #require(trainer.validate())
        var reports: [EpochReport] = []
        for _ in 0..<15 { reports.append(trainer.runEpoch()) }
        // Epoch losses are noisy on 18 clips: compare the first with the mean of the last three.
        let first = reports[0].loss, last = reports.suffix(3).map(\.loss).reduce(0, +) / 3
        #expect(last < first - 0.3, "\(loss): loss went from \(first) to \(last)")
        let after = try #require(reports.last?.validation)
        #expect(after.accuracy >= 0.85, "\(loss): validation accuracy \(after.accuracy), before training \(before.accuracy)")
        #expect(after.mixtureMAE < before.mixtureMAE)
        #expect(trainer.optimizer.step == 15 * 5)
    }

    @Test func runsAreDeterministicAndResumeExactly() throws {
        let bank = Self.bank(clipsPerClass: 3)
        func fresh() -> ClassifierTrainer {
            ClassifierTrainer(
                configuration: Self.configuration, settings: Self.settings(.dirichlet, epochs: 3), train: bank, validation: nil,
                dataDescription: "synthetic")
        }
        let straight = fresh()
        for _ in 0..<3 { straight.runEpoch() }
        let again = fresh()
        for _ in 0..<3 { again.runEpoch() }
        #expect(again.network.stateTensors == straight.network.stateTensors)

        let folder = TestPaths.temporaryDirectory("checkpoint")
        defer { try? FileManager.default.removeItem(at: folder) }
        let interrupted = fresh()
        interrupted.runEpoch()
        try interrupted.saveCheckpoint(to: folder)
        let resumed = fresh()
        try resumed.resume(from: folder)
        #expect(resumed.completedEpochs == 1)
        resumed.runEpoch()
        resumed.runEpoch()
        #expect(resumed.network.stateTensors == straight.network.stateTensors)
        #expect(resumed.history.map(\.loss) == straight.history.map(\.loss))
        #expect(resumed.optimizer.step == straight.optimizer.step)
    }

    @Test func weightAveragingSavesTheMeanOfTheLastEpochsAndResumesExactly() throws {
        let bank = Self.bank(clipsPerClass: 3)
        func fresh(average: Int) -> ClassifierTrainer {
            var settings = Self.settings(.dirichlet, epochs: 4)
            settings.averageEpochs = average
            return ClassifierTrainer(configuration: Self.configuration, settings: settings, train: bank, validation: nil, dataDescription: "s")
        }
        // Without averaging, the states after epochs 2, 3 and 4 (the run is the same either way:
        // averaging changes nothing before the last epoch).
        let plain = fresh(average: 0)
        var states: [[String: Tensor]] = []
        for _ in 0..<4 {
            plain.runEpoch()
            states.append(plain.network.stateTensors)
        }
        let averaged = fresh(average: 3)
        for epoch in 0..<4 {
            averaged.runEpoch()
            if epoch < 3 { #expect(averaged.network.stateTensors == states[epoch], "epoch \(epoch + 1) differs before the average") }
        }
        let result = averaged.network.stateTensors
        var movedAway = 0
        for (name, variable, _) in averaged.network.parameters {
            let parts = states[1...3].map { $0[name]!.data }
            for i in variable.value.indices {
                let mean = (parts[0][i] + parts[1][i] + parts[2][i]) / 3
                #expect(abs(variable.value[i] - mean) <= 1e-6 * max(1, abs(mean)), "\(name)[\(i)]: \(variable.value[i]) vs mean \(mean)")
                if variable.value[i] != parts[2][i] { movedAway += 1 }
            }
        }
        #expect(movedAway > 1000, "the average equals the last epoch's weights")
        // Batch norm's statistics are re-estimated for the averaged weights: neither the last
        // epoch's running statistics nor their average.
        for layer in averaged.network.layers.joined() {
            let name = "\(layer.prefix).norm.running_mean"
            let runningMean = (0..<layer.statistics.mean.count).map { i in (1...3).map { states[$0][name]!.data[i] }.reduce(0, +) / 3 }
            #expect(layer.statistics.mean != states[3][name]!.data && layer.statistics.mean != runningMean, "\(name) was not re-estimated")
            #expect(layer.statistics.variance.allSatisfy { $0.isFinite && $0 > 0 })
        }
        // Interrupted inside the averaged epochs, the run resumes to the same model.
        let folder = TestPaths.temporaryDirectory("checkpoint-average")
        defer { try? FileManager.default.removeItem(at: folder) }
        let interrupted = fresh(average: 3)
        for _ in 0..<3 { interrupted.runEpoch() }
        try interrupted.saveCheckpoint(to: folder)
        let resumed = fresh(average: 3)
        try resumed.resume(from: folder)
        resumed.runEpoch()
        #expect(resumed.network.stateTensors == result)
    }

    @Test func aCheckpointOfAnotherRunIsRefused() throws {
        let bank = Self.bank(clipsPerClass: 2)
        let folder = TestPaths.temporaryDirectory("checkpoint-other")
        defer { try? FileManager.default.removeItem(at: folder) }
        let first = ClassifierTrainer(
            configuration: Self.configuration, settings: Self.settings(.dirichlet, epochs: 2), train: bank, validation: nil, dataDescription: "a")
        first.runEpoch()
        try first.saveCheckpoint(to: folder)
        let other = ClassifierTrainer(
            configuration: Self.configuration, settings: Self.settings(.ce, epochs: 2), train: bank, validation: nil, dataDescription: "a")
        #expect(throws: TrainingError.self) { try other.resume(from: folder) }
        // A state file that does not belong to the weights beside it (an interrupted save).
        let older = try Data(contentsOf: folder.appendingPathComponent("state.json"))
        first.runEpoch()
        try first.saveCheckpoint(to: folder)
        try older.write(to: folder.appendingPathComponent("state.json"))
        let third = ClassifierTrainer(
            configuration: Self.configuration, settings: Self.settings(.dirichlet, epochs: 2), train: bank, validation: nil, dataDescription: "a")
        do {
            try third.resume(from: folder)
            Issue.record("resumed from mismatched checkpoint files")
        } catch let error as TrainingError {
            #expect(error.code == "checkpoint.inconsistent")
            #expect(error.message.contains("state.safetensors"))
        }
    }

    @Test func aDirichletHeadOnFixedFeaturesLeavesTheConvolutionsAlone() throws {
        let bank = Self.bank(clipsPerClass: 3)
        let base = Self.trainedCE(bank, epochs: 2)
        var settings = Self.settings(.dirichlet, epochs: 2)
        settings.trainHeadOnly = true
        let head = ClassifierTrainer(configuration: Self.configuration, settings: settings, train: bank, validation: nil, dataDescription: "s")
        try head.start(from: base.model())
        let before = head.network.stateTensors
        head.runEpoch()
        head.runEpoch()
        let after = head.network.stateTensors
        for (name, tensor) in before {
            if name.hasPrefix("classifier.") {
                #expect(after[name] != tensor, "\(name) did not train")
            } else {
                #expect(after[name] == tensor, "\(name) changed")
                if !name.hasPrefix("classifier.") { #expect(tensor == base.network.stateTensors[name], "\(name) was not copied") }
            }
        }
        #expect(head.optimizer.parameters.map(\.name) == ["classifier.weight", "classifier.bias"])
    }

    @Test func trainingFeaturesMatchInferenceFeatures() throws {
        // Without augmentation or crop, a bank clip gives exactly what the model computes
        // from the raw samples, so validation during training and `emobake eval` agree.
        let samples = Self.clip(label: 1, variant: 2)
        let extractor = LogMelExtractor(settings: Self.configuration.features)
        let bank = FeatureBank.build(audio: [(samples, 1)], extractor: extractor, speeds: [1])
        var plain = AugmentationSettings.none
        plain.cropFrames = 0
        let maker = BatchMaker(bank: bank, extractor: extractor, augmentation: plain, minimumFrames: 4)
        var random = SeededRandom(seed: 1)
        let fromBank = maker.sample(0, augment: false, random: &random)
        let direct = extractor.features(samples[...])
        #expect(fromBank.frames == direct.frames)
        #expect(fromBank.values == direct.values)
    }

    @Test func variableCropsDrawLengthsInTheirRange() {
        let bank = Self.bank(clipsPerClass: 2)
        var settings = AugmentationSettings.none
        settings.cropFrames = 60
        settings.minimumCropFrames = 20
        let maker = BatchMaker(bank: bank, extractor: LogMelExtractor(settings: Self.configuration.features), augmentation: settings, minimumFrames: 4)
        var random = SeededRandom(seed: 8)
        var lengths = Set<Int>()
        for _ in 0..<40 { lengths.insert(maker.sample(0, augment: true, random: &random).frames) }
        #expect(lengths.allSatisfy { (20...60).contains($0) })
        #expect(lengths.count > 10)
        // Without augmentation (validation, recalibration) the crop is the fixed maximum.
        #expect(maker.sample(0, augment: false, random: &random).frames == 60)
    }

    @Test func augmentationKeepsShapesAndMasks() {
        let bank = Self.bank(clipsPerClass: 1)
        let extractor = LogMelExtractor(settings: Self.configuration.features)
        var settings = AugmentationSettings()
        settings.cropFrames = 40
        settings.frequencyMaskWidth = 4
        settings.timeMaskWidth = 10
        let maker = BatchMaker(bank: bank, extractor: extractor, augmentation: settings, minimumFrames: 4)
        var random = SeededRandom(seed: 9)
        let batch = maker.batch([0, 1, 2], augment: true, random: &random)
        #expect(batch.features.shape == [1, 3, 16, 40])
        #expect(batch.validFrames == [40, 40, 40])
        #expect(batch.labels == [0, 1, 2])
        #expect(batch.features.value.allSatisfy { $0.isFinite })
        // Two different draws differ (augmentation is random), the same seed repeats.
        var again = SeededRandom(seed: 9)
        #expect(maker.batch([0, 1, 2], augment: true, random: &again).features.value == batch.features.value)
        #expect(maker.batch([0, 1, 2], augment: true, random: &random).features.value != batch.features.value)
    }
}

@Suite struct BatchNormRecalibrationTests {
    @Test func oneCleanBatchSetsTheRunningStatisticsToItsOwn() throws {
        let bank = TrainerTests.bank(clipsPerClass: 2, speeds: [1])
        let extractor = LogMelExtractor(settings: TrainerTests.configuration.features)
        var clean = AugmentationSettings.none
        clean.cropFrames = 300
        let maker = BatchMaker(bank: bank, extractor: extractor, augmentation: clean, minimumFrames: 4)
        var random = SeededRandom(seed: 4)
        let network = CompactNetwork(configuration: TrainerTests.configuration, random: &random)
        let first = try #require(network.layers.first?.first)
        first.statistics.mean = first.statistics.mean.map { _ in 5 }  // far from the truth
        let workspace = AutogradWorkspace()
        BatchNormRecalibration.run(network: network, maker: maker, clips: Array(bank.clips.indices), batchSize: 32, workspace: workspace)
        // The same batch (sorted by length, as the recalibration orders it) through the first convolution.
        let order = bank.clips.indices.sorted { (bank.clips[$0].variants[0].frames, $0) < (bank.clips[$1].variants[0].frames, $1) }
        var unused = SeededRandom(seed: 0)
        let batch = maker.batch(order, augment: false, random: &unused)
        let convolved = Tape.inference().convolution2D(batch.features, weight: first.weight, bias: nil, padding: (1, 1), workspace: workspace)
        let channels = convolved.shape[0], per = convolved.count / channels
        for c in 0..<channels {
            let values = convolved.value[(c * per)..<((c + 1) * per)].map(Double.init)
            let mean = values.reduce(0, +) / Double(per)
            let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(per - 1)
            #expect(abs(Double(first.statistics.mean[c]) - mean) < 1e-4)
            #expect(abs(Double(first.statistics.variance[c]) - variance) < 1e-4 * max(1, variance))
        }
        #expect(first.statistics.momentum == 0.1)  // restored
    }
}

/// Distillation: a CE model's mixtures as the Dirichlet NLL's targets.
@Suite struct TeacherTargetTests {
    @Test func theNLLTargetsAreTheTeachersSmoothedMixtures() throws {
        let bank = TrainerTests.bank(clipsPerClass: 4)
        let base = TrainerTests.trainedCE(bank, epochs: 12)
        var settings = TrainerTests.settings(.dirichlet, epochs: 6)
        settings.teacherModel = "ce"
        let student = ClassifierTrainer(configuration: TrainerTests.configuration, settings: settings, train: bank, validation: nil, dataDescription: "s")
        try student.start(from: base.model())
        try student.useTeacher(base.model())

        // The teacher's mixtures are its predictions, rows on the simplex, not one-hot.
        var random = SeededRandom(seed: 3)
        let batch = student.train.batch([0, 5, 10], augment: false, random: &random)
        let mixtures = try #require(student.teacherMixtures(features: batch.features, validFrames: batch.validFrames, count: 3))
        var unused = SeededRandom(seed: 0)
        let direct = base.network.forward(
            Tape.inference(), features: batch.features, validFrames: batch.validFrames, workspace: AutogradWorkspace(), dropoutRandom: &unused)
        for (n, row) in mixtures.enumerated() {
            #expect(abs(row.reduce(0, +) - 1) < 1e-9)
            let alpha = base.network.alpha(fromOutputs: direct.value[(n * 3)..<((n + 1) * 3)])
            let total = alpha.reduce(0, +)
            for k in 0..<3 { #expect(abs(row[k] - alpha[k] / total) < 1e-6) }
            #expect(row.max()! < 0.999 && row.min()! > 1e-6)
        }
        // The loss uses them: NLL(smoothed teacher rows) + the labels' mean cross-entropy.
        let outputs = Variable(shape: [3, 3], value: [0.9, 1.2, 0.4, 1.5, 0.3, 0.8, 0.2, 0.7, 1.3])
        let tape = Tape()
        let withTeacher = ClassifierLoss.compute(
            tape, outputs: outputs, labels: batch.labels, settings: settings, completedEpochs: 1, teacherMixtures: mixtures)
        let smoothed = mixtures.map { Dirichlet.smoothedTarget($0, epsilon: settings.labelSmoothing) }
        let oneHot = batch.labels.map { label in (0..<3).map { $0 == label ? 1.0 : 0.0 } }
        let expected = Double(tape.dirichletNegativeLogLikelihood(outputs, targets: smoothed).value[0])
            + Double(tape.dirichletMeanCrossEntropy(outputs, targets: oneHot).value[0])
        #expect(abs(Double(withTeacher.value[0]) - expected) < 1e-4)
        let withoutTeacher = ClassifierLoss.compute(tape, outputs: outputs, labels: batch.labels, settings: settings, completedEpochs: 1)
        #expect(abs(Double(withoutTeacher.value[0]) - expected) > 1e-3)

        // Training with the teacher learns the classes.
        var reports: [EpochReport] = []
        for _ in 0..<6 { reports.append(student.runEpoch()) }
        #expect(reports.suffix(2).allSatisfy { $0.trainAccuracy >= 0.8 }, "\(reports.map(\.trainAccuracy)) teacher \(base.history.map(\.trainAccuracy))")
    }

    @Test func aTeacherWithOtherEmotionsIsRefused() throws {
        var other = TrainerTests.configuration
        other.emotions = ["neutral", "sad", "angry"]
        other.head = .softmax
        var random = SeededRandom(seed: 1)
        let teacher = CompactModel(network: CompactNetwork(configuration: other, random: &random))
        let student = ClassifierTrainer(
            configuration: TrainerTests.configuration, settings: TrainerTests.settings(.dirichlet, epochs: 1), train: TrainerTests.bank(clipsPerClass: 1),
            validation: nil, dataDescription: "s")
        #expect(throws: TrainingError.self) { try student.useTeacher(teacher) }
    }
}
