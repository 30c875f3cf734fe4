import AudioIO
import EmotionCore
import Foundation
import Neural
import Recognition
import TestSupport
import Testing
@testable import Training

/// Stage 2 and Stage 3 training for a few steps on a few synthetic dialogues of tones: the
/// losses must fall. (The full experiments are commands: emobake train sequence / train dpo.)
@Suite(.serialized) struct SequenceTrainingTests {
    /// Dialogues of the tone clips, with the ground truth as the (perfect) teacher's targets.
    static func examples(model: SequenceModel, count: Int, seed: UInt64) throws -> (examples: [SequenceExample], dialogues: [SyntheticDialogue], folder: URL) {
        let (folder, clips) = try SequenceDialogueTests.makeClips()
        var recipe = DialogueRecipe()
        recipe.clipsPerDialogue = 3...3
        let builder = try SyntheticDialogueBuilder(clips: clips, emotions: SequenceModelTests.emotions, recipe: recipe, seed: seed)
        var examples: [SequenceExample] = []
        var dialogues: [SyntheticDialogue] = []
        for index in 0..<count {
            let dialogue = try builder.dialogue(index: index)
            dialogues.append(dialogue)
            examples.append(
                try SequenceExample.make(
                    identifier: dialogue.identifier, audio: dialogue.audio, teacherTrack: dialogue.truth, truth: dialogue.truth, model: model))
        }
        return (examples, dialogues, folder)
    }

    @Test(arguments: [SequenceTrainingSettings.Loss.dirichlet, .ce])
    func stageTwoLossFalls(loss: SequenceTrainingSettings.Loss) throws {
        let head: SequenceHead = loss == .ce ? .softmax(concentration: 10) : .dirichlet
        var random = SeededRandom(seed: 4)
        let network = SequenceNetwork(configuration: SequenceModelTests.tinyConfiguration(head: head), random: &random)
        let model = SequenceModel(network: network)
        let (examples, _, folder) = try Self.examples(model: model, count: 6, seed: 3)
        defer { try? FileManager.default.removeItem(at: folder) }
        var settings = SequenceTrainingSettings()
        settings.loss = loss
        settings.epochs = 40
        settings.batchSize = 3
        settings.cropSeconds = 1.5
        settings.peakRate = 3e-3
        settings.warmupEpochs = 0
        let trainer = SequenceTrainer(network: network, settings: settings, train: examples, validation: examples)
        let before = trainer.loss(on: examples)
        let maeBefore = trainer.evaluate(examples).truthMAE!
        for _ in 0..<settings.epochs { trainer.runEpoch() }
        let after = trainer.loss(on: examples)
        let maeAfter = trainer.history.last!.validation!.truthMAE!
        #expect(trainer.history.count == 40 && trainer.history.allSatisfy { $0.loss.isFinite })
        #expect(after < before - 0.1 * abs(before), "whole-clip loss \(before) -> \(after)")
        #expect(maeAfter < maeBefore, "truth MAE \(maeBefore) -> \(maeAfter)")
    }

    @Test func aFrozenBackboneKeepsItsWeightsAndCropEndsDoNotCount() throws {
        var random = SeededRandom(seed: 4)
        let network = SequenceNetwork(configuration: SequenceModelTests.tinyConfiguration(windowPoolFrames: 5), random: &random)
        let model = SequenceModel(network: network)
        let (examples, _, folder) = try Self.examples(model: model, count: 4, seed: 3)
        defer { try? FileManager.default.removeItem(at: folder) }
        var settings = SequenceTrainingSettings()
        settings.loss = .dirichlet
        settings.epochs = 3
        settings.batchSize = 2
        settings.cropSeconds = 1.6  // 20 frames of 80 ms: the dialogues are longer, so crops are cut
        settings.freezeBackbone = true
        let trainer = SequenceTrainer(network: network, settings: settings, train: examples, validation: [])
        let frozen = network.parameters.filter { $0.name.hasPrefix("backbone.") && !$0.name.hasPrefix("backbone.classifier.") }
        let trained = network.parameters.filter { !$0.name.hasPrefix("backbone.") || $0.name.hasPrefix("backbone.classifier.") }
        let before = (frozen.map { $0.variable.value }, trained.map { $0.variable.value })
        for _ in 0..<settings.epochs { trainer.runEpoch() }
        #expect(frozen.map { $0.variable.value } == before.0)
        #expect(zip(trained.map { $0.variable.value }, before.1).contains { $0 != $1 })
        // A crop's rows within the mean's reach (2 + 1 frames) of a cut end have weight 0.
        #expect(trainer.cropMargin == 3)
        let (_, targets, weights) = trainer.batch([0, 1])
        #expect(targets.count == 40 && weights.count == 40)
        for n in 0..<2 {
            let rows = weights[(n * 20)..<((n + 1) * 20)]
            #expect(rows.dropFirst(3).dropLast(3).allSatisfy { $0 == 1 })
            #expect(rows.prefix(3).allSatisfy { $0 == 0 } || rows.suffix(3).allSatisfy { $0 == 0 })
        }
    }

    @Test func sharpeningRaisesEachShareToOneOverTAndRenormalises() {
        let row: ArraySlice<Double> = [0.6, 0.3, 0.1]
        #expect(SequenceTrainer.sharpen(row, temperature: 1) == [0.6, 0.3, 0.1])
        let sharp = SequenceTrainer.sharpen(row, temperature: 0.5)  // squares: 0.36, 0.09, 0.01 over 0.46
        #expect(abs(sharp[0] - 0.36 / 0.46) < 1e-12 && abs(sharp[2] - 0.01 / 0.46) < 1e-12)
        let soft = SequenceTrainer.sharpen(row, temperature: 2)
        #expect(soft[0] < 0.6 && soft[2] > 0.1 && abs(soft.reduce(0, +) - 1) < 1e-12)
    }

    @Test func stageThreeLossFallsFromLogTwo() throws {
        var random = SeededRandom(seed: 6)
        let network = SequenceNetwork(configuration: SequenceModelTests.tinyConfiguration(), random: &random)
        let model = SequenceModel(network: network, identifier: "tiny")
        let (_, dialogues, folder) = try Self.examples(model: model, count: 4, seed: 8)
        defer { try? FileManager.default.removeItem(at: folder) }
        // Candidates from the model's own tracks, judged by the simulated annotator, as files.
        let review = folder.appendingPathComponent("review")
        let generator = CandidateGenerator(seed: 2)
        var preferences: [Preference] = []
        for (index, dialogue) in dialogues.enumerated() {
            try dialogue.write(to: review.appendingPathComponent("audio"))
            let track = try SequencePredictor().predict(dialogue.audio, model: model, source: dialogue.identifier)
            let candidates = generator.candidates(from: track, key: UInt64(index))
            var paths: [String] = []
            for (c, candidate) in candidates.enumerated() {
                let path = "candidates/\(dialogue.identifier)/c\(c).json"
                try candidate.write(to: review.appendingPathComponent(path))
                paths.append(path)
            }
            preferences += try SimulatedAnnotator().judge(
                clip: "audio/\(dialogue.identifier).wav", candidates: candidates, paths: paths, truth: dialogue.truth, key: UInt64(index))
        }
        let file = review.appendingPathComponent("preferences.jsonl")
        try PreferencesFile.write(preferences, to: file)
        let clips = try DPOClip.load(preferences: try PreferencesFile.read(file), base: review, model: model)
        #expect(clips.count == 4 && clips.allSatisfy { $0.pairs.count >= 8 })
        var settings = DPOSettings()
        settings.epochs = 15
        settings.clipsPerStep = 2
        settings.peakRate = 3e-3
        let trainer = DPOTrainer(network: network, settings: settings, clips: clips)
        let start = trainer.evaluate()
        // The reference is the starting network: every margin is 0 and the loss is log 2.
        #expect(abs(start.meanLoss - log(2)) < 1e-6 && abs(start.meanMargin) < 1e-6)
        for _ in 0..<settings.epochs { trainer.runEpoch() }
        let end = trainer.evaluate()
        #expect(end.meanLoss < 0.6, "DPO loss \(start.meanLoss) -> \(end.meanLoss)")
        #expect(end.rankingAccuracy >= 0.6, "ranking accuracy \(end.rankingAccuracy)")
        // A preferences entry naming a missing candidate names the file.
        var broken = preferences[0]
        broken.candidates[0] = "candidates/nowhere.json"
        do {
            _ = try DPOClip.load(preferences: [broken], base: review, model: model)
            Issue.record("loaded a missing candidate")
        } catch {
            #expect("\(error)".contains("candidates/nowhere.json: no such file"))
        }
    }
}
