import ArgumentParser
import Common
import EmotionCore
import Foundation
import JSONIO
import Neural
import Recognition
import Training

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train emotion models on labelled audio.",
        subcommands: [
            TrainClassifierCommand.self, TrainHeadCommand.self, TrainRecalibrateCommand.self, TrainBenchCommand.self, TrainSequenceCommand.self,
            TrainDPOCommand.self,
        ])
}

struct TrainClassifierCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "classifier",
        abstract: "Train the compact single-emotion classifier (Stage 1) from scratch.",
        discussion: """
            DATA is a RAVDESS folder (Actor_XX/03-01-EE-...-AA.flac; calm is merged into
            neutral), or a CSV file (or a folder holding labels.csv) with a header naming the
            columns path and label, and optionally speaker and split (train or validation).
            Clips split by speaker: --validation-speakers validate, the rest train; a split
            column wins over speakers.

            Log-mel features are computed once (with speed-perturbed copies); each epoch then
            trains on random crops with gain, noise and time/frequency masks, and scores the
            validation clips whole. A checkpoint is written after every epoch; --resume continues
            a stopped run exactly (same options and data). The result is a model folder:
            config.json, model.safetensors, training.json (options, per-epoch figures) and
            MODEL_CARD.md (fill in the data's licence). It loads with emobake predict --model.

            Examples:
              emobake train classifier --data ../shared/data/ravdess --loss dirichlet -o models/mine
              emobake train classifier --data labels.csv --loss ce --epochs 20 -o models/ce --json
            """)

    @OptionGroup var labelled: LabelledDataOptions

    @Option(name: .long, help: "dirichlet (the paper's head) or ce (softmax cross-entropy baseline).")
    var loss: String = "dirichlet"

    @Option(name: [.short, .customLong("output")], help: "The model folder to write.")
    var output: String

    @Option(name: .long, help: "Training epochs.")
    var epochs: Int = 35

    @Option(name: .long, help: "Clips per batch.")
    var batchSize: Int = 32

    @Option(name: .long, help: "Peak learning rate (after warm-up; cosine decay to 0).")
    var learningRate: Double = 2e-3

    @Option(name: .long, help: "Warm-up epochs (at most --epochs).")
    var warmupEpochs: Int = 3

    @Option(name: .long, help: "Random seed: the same seed, data and threads give the same model.")
    var seed: UInt64 = 1

    @Option(name: .long, help: "Dirichlet loss: weight of the cross-entropy of the Dirichlet mean added to the NLL.")
    var meanCeWeight: Double = 1.0

    @Option(name: .long, help: "Dirichlet loss: smoothing of one-hot targets onto the open simplex.")
    var labelSmoothing: Double = 0.1

    @Option(name: .long, help: "Dirichlet loss: epochs trained on the mean cross-entropy alone first.")
    var warmStartEpochs: Int = 0

    @Option(name: .long, help: "Start from this compact model's weights (e.g. a CE model, for Dirichlet fine-tuning).")
    var initFrom: String?

    @Flag(name: .long, help: "Do not weight clips by inverse class frequency.")
    var noClassBalance = false

    @Flag(name: .long, help: "With --init-from: train only the classifier on the initial model's fixed features.")
    var headOnly = false

    @Option(name: .long, help: "Dirichlet loss: NLL targets are this compact model's mixtures on the same crops (distillation, e.g. from the --init-from CE model) instead of one-hot labels.")
    var teacher: String?

    @Option(name: .long, help: "The model's identifier, written into tracks and bake manifests (default: emobake-compact-v1).")
    var identifier: String = "emobake-compact-v1"

    @Option(name: .long, help: "Average the weights of the last N epochs into the saved model (0: keep the last epoch's).")
    var averageEpochs: Int = 0

    @Flag(name: .long, help: "Train without augmentation (crops only).")
    var noAugmentation = false

    @Option(name: .long, help: "Shortest random crop in seconds (default: every crop 3 s); e.g. 1 for models used with 1 s windows.")
    var minimumCrop: Double?

    @Option(name: [.short, .customLong("jobs")], help: "Threads (default 2).")
    var jobs: Int = 2

    @Option(name: .long, help: "Checkpoint folder (default: OUTPUT/checkpoint).")
    var checkpoint: String?

    @Flag(name: .long, help: "Continue from the checkpoint of a stopped run.")
    var resume = false

    @Flag(name: .long, help: "Print the summary as JSON on standard output (progress goes to standard error).")
    var json = false

    @Flag(name: .long, help: "Print only the summary.")
    var quiet = false

    func validate() throws {
        guard ClassifierTrainingSettings.Loss(rawValue: loss) != nil else {
            throw ValidationError("--loss must be dirichlet or ce, not \(loss)")
        }
        if epochs < 1 || epochs > 10_000 { throw ValidationError("--epochs must be 1 to 10000") }
        if batchSize < 2 || batchSize > 4096 { throw ValidationError("--batch-size must be 2 to 4096") }
        if !(learningRate > 0 && learningRate < 1) { throw ValidationError("--learning-rate must be in (0, 1)") }
        if warmupEpochs < 0 { throw ValidationError("--warmup-epochs must be 0 or more") }
        if !(labelSmoothing > 0 && labelSmoothing < 1) { throw ValidationError("--label-smoothing must be in (0, 1)") }
        if !(meanCeWeight >= 0) { throw ValidationError("--mean-ce-weight must be >= 0") }
        if let minimumCrop, !(minimumCrop >= 0.2 && minimumCrop <= 3) { throw ValidationError("--minimum-crop must be 0.2 to 3 seconds") }
        if headOnly && initFrom == nil { throw ValidationError("--head-only needs --init-from (the model whose features to keep)") }
        if averageEpochs < 0 || averageEpochs > epochs { throw ValidationError("--average-epochs must be 0 to --epochs (\(epochs))") }
        if teacher != nil && loss != "dirichlet" { throw ValidationError("--teacher applies to --loss dirichlet") }
        if jobs < 1 || jobs > 64 { throw ValidationError("--jobs must be 1 to 64") }
        guard !identifier.isEmpty, identifier.count <= 100, identifier.unicodeScalars.allSatisfy({ $0.value > 32 && $0.value != 127 && $0 != "\"" }) else {
            throw ValidationError("--identifier must be 1-100 characters without spaces, quotes or control characters")
        }
    }

    func run() throws {
        do {
            try train()
        } catch {
            printError(oneLineMessage(error))
            throw ExitCode(1)
        }
    }

    /// Progress and epoch lines: standard error with --json, else standard output.
    func say(_ text: String) {
        guard !quiet else { return }
        let line = Data((text + "\n").utf8)
        if json { FileHandle.standardError.write(line) } else { FileHandle.standardOutput.write(line) }
    }

    func train() throws {
        let emotionList = labelled.emotionList
        var settings = ClassifierTrainingSettings()
        settings.loss = ClassifierTrainingSettings.Loss(rawValue: loss)!
        settings.epochs = epochs
        settings.batchSize = batchSize
        settings.peakRate = learningRate
        settings.warmupEpochs = min(warmupEpochs, epochs)
        settings.seed = seed
        settings.meanCrossEntropyWeight = meanCeWeight
        settings.labelSmoothing = labelSmoothing
        settings.warmStartEpochs = warmStartEpochs
        settings.threads = jobs
        settings.balanceClasses = !noClassBalance
        settings.initialModel = initFrom
        settings.trainHeadOnly = headOnly
        settings.averageEpochs = averageEpochs
        settings.teacherModel = teacher
        if noAugmentation {
            settings.augmentation = .none
            settings.speeds = [1]
        }
        if let minimumCrop {
            let framesPerSecond = Double(LogMelSettings().sampleRate) / Double(LogMelSettings().hopLength)
            settings.augmentation.minimumCropFrames = Int((minimumCrop * framesPerSecond).rounded())
        }
        let configuration = CompactModelConfiguration(emotions: emotionList, head: settings.loss == .ce ? .softmax : .dirichlet)
        // The models named on the command line are read first, so that a wrong path fails
        // before the features are computed.
        let initial = try initFrom.map { try CompactModel.load(directory: URL(fileURLWithPath: $0)) }
        let teacherModel = try teacher.map { try CompactModel.load(directory: URL(fileURLWithPath: $0)) }
        let (trainClips, validationClips) = try labelled.load()
        say("data: \(trainClips.count) training clips, \(validationClips.count) validation clips, \(emotionList.count) emotions")
        let extractor = LogMelExtractor(settings: configuration.features)
        let started = Date()
        let terminal = isatty(json ? 2 : 1) != 0 && !quiet
        let trainBank = try FeatureBank.build(trainClips, extractor: extractor, speeds: settings.speeds, threads: jobs) { done, total in
            if terminal { progressLine("features: \(done)/\(total) training clips") }
        }
        let validationBank = validationClips.isEmpty
            ? nil : try FeatureBank.build(validationClips, extractor: extractor, speeds: [1], threads: jobs)
        if terminal { progressLine("") }
        let frames = trainBank.clips.map { $0.variants[settings.speeds.firstIndex(of: 1) ?? 0].frames }
        say(
            "features: \(settings.speeds.count) speed variants in \(DecimalFormat.fixed(Date().timeIntervalSince(started), 1)) s; "
                + "trimmed clips \(DecimalFormat.fixed(Double(frames.min()!) / 100, 2))-\(DecimalFormat.fixed(Double(frames.max()!) / 100, 2)) s, "
                + "mean \(DecimalFormat.fixed(Double(frames.reduce(0, +)) / Double(frames.count) / 100, 2)) s")
        let description = trainClips.map { "\($0.url.path)|\($0.label)" }.joined(separator: "\n")
        let trainer = ClassifierTrainer(
            configuration: configuration, settings: settings, train: trainBank, validation: validationBank, dataDescription: description)
        if let initFrom, let initial {
            try trainer.start(from: initial)
            say("initial weights: \(initFrom) (\(initial.configuration.head == configuration.head ? "with" : "without") its classifier)")
        }
        if let teacher, let teacherModel {
            try trainer.useTeacher(teacherModel)
            say("teacher: \(teacher) (Dirichlet targets are its mixtures)")
        }
        let outputURL = URL(fileURLWithPath: output)
        let checkpointURL = checkpoint.map { URL(fileURLWithPath: $0) } ?? outputURL.appendingPathComponent("checkpoint")
        if resume {
            guard FileManager.default.fileExists(atPath: checkpointURL.appendingPathComponent(ClassifierTrainer.checkpointState).path) else {
                throw TrainingError("checkpoint.missing", "\(checkpointURL.path): no checkpoint to resume (state.json is missing)")
            }
            try trainer.resume(from: checkpointURL)
            say("resumed after epoch \(trainer.completedEpochs) of \(epochs)")
        }
        let parameterCount = trainer.network.parameters.reduce(0) { $0 + $1.variable.count }
        say("model: compact CNN, \(parameterCount) parameters, \(settings.loss == .ce ? "softmax" : "Dirichlet") head; \(trainer.stepsPerEpoch) steps per epoch")
        while trainer.completedEpochs < epochs {
            let epoch = trainer.completedEpochs + 1
            let report = trainer.runEpoch { batch, batches in
                if terminal { progressLine("epoch \(epoch)/\(epochs): batch \(batch)/\(batches)") }
            }
            if terminal { progressLine("") }
            var line = "epoch \(report.epoch)/\(epochs)  loss \(DecimalFormat.fixed(report.loss, 4))  train acc \(DecimalFormat.fixed(report.trainAccuracy, 3))"
            if let v = report.validation {
                line += "  val acc \(DecimalFormat.fixed(v.accuracy, 3))  val UA \(DecimalFormat.fixed(v.unweightedAccuracy, 3))  val MAE \(DecimalFormat.fixed(v.mixtureMAE, 3))"
            }
            line += "  lr \(String(format: "%.2e", report.learningRate))  \(DecimalFormat.fixed(report.seconds, 1)) s"
            say(line)
            try trainer.saveCheckpoint(to: checkpointURL)
        }
        let model = trainer.model(identifier: identifier)
        try model.write(to: outputURL, metadata: ["trained_epochs": String(trainer.completedEpochs)])
        let final = trainer.validate()
        let summary = summaryJSON(trainer: trainer, settings: settings, trainCount: trainClips.count, validationCount: validationClips.count, final: final)
        try AtomicFile.write(try JSONCodec.serialize(summary), to: outputURL.appendingPathComponent("training.json"))
        let card = outputURL.appendingPathComponent("MODEL_CARD.md")
        if !FileManager.default.fileExists(atPath: card.path) {
            try AtomicFile.write(modelCard(settings: settings, trainCount: trainClips.count, validationCount: validationClips.count, final: final), to: card)
        }
        if json {
            FileHandle.standardOutput.write(Data(try JSONCodec.serialize(summary).utf8))
        } else {
            var text = "wrote \(outputURL.path) (config.json, model.safetensors, training.json)\n"
            if let final { text += "validation (\(validationClips.count) clips, whole utterances):\n" + final.text }
            FileHandle.standardOutput.write(Data(text.utf8))
        }
    }

    func progressLine(_ text: String) {
        let handle = json ? FileHandle.standardError : FileHandle.standardOutput
        handle.write(Data("\r\u{1B}[K\(text)".utf8))
    }

    func summaryJSON(
        trainer: ClassifierTrainer, settings: ClassifierTrainingSettings, trainCount: Int, validationCount: Int, final: ClassifierMetrics?
    ) -> JSONValue {
        .object(
            JSONObject([
                ("model", .string(output)),
                ("data", .string(labelled.data)),
                ("loss", .string(settings.loss.rawValue)),
                ("train_clips", .integer(Int64(trainCount))),
                ("validation_clips", .integer(Int64(validationCount))),
                ("validation_speakers", .string(labelled.validationSpeakers)),
                ("epochs", .integer(Int64(settings.epochs))),
                ("batch_size", .integer(Int64(settings.batchSize))),
                ("learning_rate", .number(settings.peakRate)),
                ("warmup_epochs", .integer(Int64(settings.warmupEpochs))),
                ("weight_decay", .number(settings.weightDecay)),
                ("clip_norm", .number(settings.clipNorm)),
                ("seed", .integer(Int64(bitPattern: settings.seed))),
                ("label_smoothing", .number(settings.labelSmoothing)),
                ("mean_ce_weight", .number(settings.meanCrossEntropyWeight)),
                ("warm_start_epochs", .integer(Int64(settings.warmStartEpochs))),
                ("augmentation", .bool(settings.augmentation != .none)),
                ("threads", .integer(Int64(settings.threads))),
                ("class_balance", .bool(settings.balanceClasses)),
                ("minimum_crop_frames", settings.augmentation.minimumCropFrames.map { .integer(Int64($0)) } ?? .null),
                ("init_from", settings.initialModel.map { .string($0) } ?? .null),
                ("average_epochs", .integer(Int64(settings.averageEpochs))),
                ("teacher", settings.teacherModel.map { .string($0) } ?? .null),
                ("history", .array(trainer.history.map { $0.json() })),
                ("validation", final?.json ?? .null),
            ]))
    }

    func modelCard(settings: ClassifierTrainingSettings, trainCount: Int, validationCount: Int, final: ClassifierMetrics?) -> String {
        var text = """
            # EmoBake compact emotion model

            Trained with `emobake train classifier` (EmoBake \(EmoBake.version)): log-mel CNN, \
            \(settings.loss == .ce ? "softmax (cross-entropy)" : "Dirichlet") head, \(settings.epochs) epochs, seed \(settings.seed).

            - Training data: `\(labelled.data)`, \(trainCount) clips; validation: \(validationCount) clips (speakers \(labelled.validationSpeakers)).
            - Emotions: \(labelled.emotions).
            - Licence: the weights derive from the training data: state its licence and attribution here.

            """
        if let final {
            text += """

                ## Validation figures (whole utterances)

                | accuracy | unweighted accuracy | mixture MAE | calibration error |
                |---|---|---|---|
                | \(DecimalFormat.fixed(final.accuracy, 3)) | \(DecimalFormat.fixed(final.unweightedAccuracy, 3)) | \(DecimalFormat.fixed(final.mixtureMAE, 3)) | \(DecimalFormat.fixed(final.calibrationError, 3)) |

                """
        }
        return text
    }
}
