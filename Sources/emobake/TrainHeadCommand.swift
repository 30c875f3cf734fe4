import ArgumentParser
import Common
import EmotionCore
import Foundation
import JSONIO
import Neural
import Recognition
import Training

struct TrainHeadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "head",
        abstract: "Train only an emotion head on a frozen wav2vec2 checkpoint (parameter-efficient).",
        discussion: """
            BACKBONE is a wav2vec2 model folder (config.json + model.safetensors, as Hugging Face
            saves them; any head in it is replaced). Its last hidden state, averaged over each
            clip, is computed once per clip; a linear head then trains on those features. DATA
            and the splits work as for emobake train classifier. The output folder is the
            checkpoint with the new head: --loss dirichlet writes an EmoBakeWav2Vec2Dirichlet
            model, --loss ce a Wav2Vec2ForSequenceClassification; both load with
            emobake predict --model and emobake eval classifier --model.

            Example:
              emobake train head --backbone models/wav2vec2-base --data ../shared/data/ravdess --loss dirichlet -o models/w2v-head
            """)

    @Option(name: .long, help: "The wav2vec2 checkpoint folder (frozen).")
    var backbone: String

    @OptionGroup var labelled: LabelledDataOptions

    @Option(name: .long, help: "dirichlet or ce.")
    var loss: String = "dirichlet"

    @Option(name: [.short, .customLong("output")], help: "The model folder to write.")
    var output: String

    @Option(name: .long, help: "Epochs over the pooled features.")
    var epochs: Int = 200

    @Option(name: .long, help: "Clips per batch.")
    var batchSize: Int = 32

    @Option(name: .long, help: "Peak learning rate.")
    var learningRate: Double = 1e-3

    @Option(name: .long, help: "Random seed.")
    var seed: UInt64 = 1

    @Option(name: [.short, .customLong("jobs")], help: "Threads.")
    var jobs: Int = 2

    @Flag(name: .long, help: "Print the summary as JSON.")
    var json = false

    func validate() throws {
        guard ClassifierTrainingSettings.Loss(rawValue: loss) != nil else { throw ValidationError("--loss must be dirichlet or ce, not \(loss)") }
        if epochs < 1 || epochs > 100_000 { throw ValidationError("--epochs must be 1 to 100000") }
        if batchSize < 1 || batchSize > 4096 { throw ValidationError("--batch-size must be 1 to 4096") }
        if !(learningRate > 0 && learningRate < 1) { throw ValidationError("--learning-rate must be in (0, 1)") }
        if jobs < 1 || jobs > 64 { throw ValidationError("--jobs must be 1 to 64") }
    }

    func run() throws {
        do {
            RuntimeThreads.configure(jobs)
            let emotionList = labelled.emotionList
            var settings = ClassifierTrainingSettings()
            settings.loss = ClassifierTrainingSettings.Loss(rawValue: loss)!
            settings.epochs = epochs
            settings.batchSize = batchSize
            settings.peakRate = learningRate
            settings.warmupEpochs = min(5, epochs)
            settings.seed = seed
            let backboneURL = URL(fileURLWithPath: backbone)
            let model = try ModelLoader.loadWav2Vec2Backbone(directory: backboneURL)
            let normalize = try HeadTrainer.normalizesInput(backbone: backboneURL)
            let (train, validation) = try labelled.load()
            let terminal = isatty(2) != 0
            let progress: (Int, Int) -> Void = { done, total in
                if terminal { FileHandle.standardError.write(Data("\r\u{1B}[Kbackbone features: \(done)/\(total)".utf8)) }
            }
            let trainFeatures = try HeadTrainer.pooledFeatures(backbone: model, clips: train, normalize: normalize, progress: progress)
            let validationFeatures = try HeadTrainer.pooledFeatures(backbone: model, clips: validation, normalize: normalize, progress: progress)
            if terminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
            let trainer = HeadTrainer(hiddenSize: model.config.hiddenSize, emotions: emotionList, settings: settings)
            let steps = (train.count + batchSize - 1) / batchSize
            let schedule = WarmupCosineSchedule(peak: learningRate, warmupSteps: settings.warmupEpochs * steps, totalSteps: epochs * steps)
            var lastLoss = 0.0
            for epoch in 1...epochs {
                lastLoss = trainer.runEpoch(features: trainFeatures, labels: train.map(\.label), schedule: schedule)
                if !json && (epoch % max(1, epochs / 10) == 0 || epoch == epochs) {
                    var line = "epoch \(epoch)/\(epochs)  loss \(DecimalFormat.fixed(lastLoss, 4))"
                    if !validation.isEmpty {
                        let metrics = trainer.validate(features: validationFeatures, labels: validation.map(\.label))
                        line += "  val acc \(DecimalFormat.fixed(metrics.accuracy, 3))  val UA \(DecimalFormat.fixed(metrics.unweightedAccuracy, 3))"
                    }
                    print(line)
                }
            }
            try trainer.write(backbone: backboneURL, normalize: normalize, to: URL(fileURLWithPath: output))
            let metrics = validation.isEmpty ? nil : trainer.validate(features: validationFeatures, labels: validation.map(\.label))
            if json {
                let summary: JSONValue = .object(
                    JSONObject([
                        ("model", .string(output)), ("backbone", .string(backbone)), ("loss", .string(loss)),
                        ("train_clips", .integer(Int64(train.count))), ("validation_clips", .integer(Int64(validation.count))),
                        ("final_loss", .decimal(lastLoss, places: 5)), ("validation", metrics?.json ?? .null),
                    ]))
                print(try JSONCodec.serialize(summary), terminator: "")
            } else {
                print("wrote \(output) (the backbone with the trained head)")
                if let metrics { print("validation (\(validation.count) clips):\n" + metrics.text, terminator: "") }
            }
        } catch {
            printError(oneLineMessage(error))
            throw ExitCode(1)
        }
    }
}
