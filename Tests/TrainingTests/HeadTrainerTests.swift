import Foundation
import Neural
import Recognition
import TestSupport
import Testing
import Training

/// The head-only option on the runtime's tiny wav2vec2 fixture (random weights): the head
/// learns the pooled features, and the written folder loads with ModelLoader and scores
/// clips exactly as the trainer does.
@Suite struct HeadTrainerTests {
    static let backbone = TestPaths.fixtures.appendingPathComponent("models/tiny-wav2vec2-base-dirichlet")

    @Test(arguments: ClassifierTrainingSettings.Loss.allCases)
    func aHeadTrainsAndItsModelFolderLoads(loss: ClassifierTrainingSettings.Loss) throws {
        let model = try ModelLoader.loadWav2Vec2Backbone(directory: Self.backbone)
        let normalize = try HeadTrainer.normalizesInput(backbone: Self.backbone)
        var features: [[Float]] = [], labels: [Int] = []
        var clips: [[Float]] = []
        for label in 0..<3 {
            for variant in 0..<4 {
                var samples = TrainerTests.clip(label: label, variant: variant)
                clips.append(samples)
                features.append(try HeadTrainer.pooledFeatures(backbone: model, samples: &samples, normalize: normalize))
                labels.append(label)
            }
        }
        var settings = ClassifierTrainingSettings()
        settings.loss = loss
        settings.batchSize = 4
        settings.epochs = 60
        settings.warmupEpochs = 2
        settings.peakRate = 3e-2
        let trainer = HeadTrainer(hiddenSize: model.config.hiddenSize, emotions: ["neutral", "happy", "angry"], settings: settings)
        let schedule = WarmupCosineSchedule(peak: settings.peakRate, warmupSteps: 2 * 3, totalSteps: 60 * 3)
        var losses: [Double] = []
        for _ in 0..<60 { losses.append(trainer.runEpoch(features: features, labels: labels, schedule: schedule)) }
        #expect(losses.suffix(5).reduce(0, +) / 5 < losses[0] - 0.2, "\(loss): \(losses[0]) -> \(losses.last!)")
        #expect(trainer.validate(features: features, labels: labels).accuracy > 0.5)

        let folder = TestPaths.temporaryDirectory("head-\(loss.rawValue)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try trainer.write(backbone: Self.backbone, normalize: normalize, to: folder)
        let loaded = try ModelLoader.load(directory: folder)
        #expect(loaded.emotions == ["neutral", "happy", "angry"])
        let expected = trainer.alpha([features[5]])[0]
        let actual = try loaded.alpha(for: clips[5][...])
        for (a, b) in zip(actual, expected) { #expect(abs(a - b) <= 1e-3 * max(1, b), "\(loss): \(actual) vs \(expected)") }
    }
}
