import ArgumentParser
import Common
import EmotionCore
import Foundation
import JSONIO
import Neural
import Recognition
import Training

struct TrainRecalibrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recalibrate",
        abstract: "Re-estimate a compact model's batch-norm statistics on clean training clips.",
        discussion: """
            Replaces batch norm's running statistics by their average over batches of the
            training clips (the --validation-speakers are left out), clean or --augmented, then
            rewrites model.safetensors. train classifier does this on a copy for each epoch's
            validation (the running statistics lag behind fast-moving weights early on); its
            final model keeps the running statistics (or, with --average-epochs, re-estimates
            them for the averaged weights). Use this for a model stopped early or fine-tuned
            elsewhere.

            Example:
              emobake train recalibrate --model models/mine --data ../shared/data/ravdess
            """)

    @Option(name: .long, help: "The compact model folder to update.")
    var model: String

    @Option(name: .long, help: "The training data (as for train classifier).")
    var data: String

    @Option(name: .long, help: "Speakers left out (the validation set).")
    var validationSpeakers: String = "17-20"

    @Option(name: [.short, .customLong("jobs")], help: "Threads.")
    var jobs: Int = 2

    @Flag(name: .long, help: "Use augmented batches (as in training) instead of clean ones.")
    var augmented = false

    @Option(name: .long, help: "Passes over the training clips (with --augmented, each draws new augmentation).")
    var passes: Int = 1

    func validate() throws {
        if jobs < 1 || jobs > 64 { throw ValidationError("--jobs must be 1 to 64") }
        if passes < 1 || passes > 100 { throw ValidationError("--passes must be 1 to 100") }
    }

    func run() throws {
        do {
            AutogradThreads.useForTraining(jobs)
            let directory = URL(fileURLWithPath: model)
            let compact = try CompactModel.load(directory: directory)
            let clips = try ClipCatalogue.load(URL(fileURLWithPath: data), emotions: compact.emotions)
            let train = ClipCatalogue.split(clips, validationSpeakers: try ClipCatalogue.parseSpeakers(validationSpeakers)).train
            guard !train.isEmpty else { throw TrainingError("data.noTraining", "\(data): no training clips") }
            let bank = try FeatureBank.build(train, extractor: compact.extractor, speeds: [1], threads: jobs)
            var clean = AugmentationSettings.none
            clean.cropFrames = AugmentationSettings().cropFrames
            let maker = BatchMaker(
                bank: bank, extractor: compact.extractor, augmentation: augmented ? AugmentationSettings() : clean,
                minimumFrames: compact.configuration.timeReduction)
            let clipList = (0..<passes).flatMap { _ in Array(bank.clips.indices) }
            BatchNormRecalibration.run(
                network: compact.network, maker: maker, clips: clipList, batchSize: 32, workspace: AutogradWorkspace(), augment: augmented)
            try compact.write(to: directory, metadata: ["recalibrated_on": "\(train.count) clips"])
            print("recalibrated batch norm of \(model) on \(train.count) clean training clips")
        } catch {
            printError(oneLineMessage(error))
            throw ExitCode(1)
        }
    }
}
