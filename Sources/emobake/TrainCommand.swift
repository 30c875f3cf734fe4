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

    @Option(name: .long, help: "Labelled audio: a RAVDESS folder, a CSV of path,label, or a folder with labels.csv.")
    var data: String

    @Option(name: .long, help: "dirichlet (the paper's head) or ce (softmax cross-entropy baseline).")
    var loss: String = "dirichlet"

    @Option(name: [.short, .customLong("output")], help: "The model folder to write.")
    var output: String

    @Option(name: .long, help: "Speakers kept for validation, e.g. 17-20 or 3,7,11 (RAVDESS actors).")
    var validationSpeakers: String = "17-20"

    @Option(name: .long, help: "Emotions, comma-separated, in output order.")
    var emotions: String = EmotionVocabulary.basicSeven.joined(separator: ",")

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
        if jobs < 1 || jobs > 64 { throw ValidationError("--jobs must be 1 to 64") }
        let names = emotions.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard names.count >= 2, Set(names).count == names.count else {
            throw ValidationError("--emotions needs at least two distinct names")
        }
        for name in names where EmotionVocabulary.canonicalName(name) != name {
            throw ValidationError("--emotions: \(name) is not a canonical emotion name (\(EmotionVocabulary.canonical.joined(separator: ", ")))")
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
        let emotionList = emotions.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
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
        if noAugmentation {
            settings.augmentation = .none
            settings.speeds = [1]
        }
        if let minimumCrop {
            let framesPerSecond = Double(LogMelSettings().sampleRate) / Double(LogMelSettings().hopLength)
            settings.augmentation.minimumCropFrames = Int((minimumCrop * framesPerSecond).rounded())
        }
        let configuration = CompactModelConfiguration(emotions: emotionList, head: settings.loss == .ce ? .softmax : .dirichlet)
        let dataURL = URL(fileURLWithPath: data)
        let clips = try ClipCatalogue.load(dataURL, emotions: emotionList)
        let (trainClips, validationClips) = ClipCatalogue.split(clips, validationSpeakers: try ClipCatalogue.parseSpeakers(validationSpeakers))
        guard !trainClips.isEmpty else {
            throw TrainingError("data.noTraining", "\(data): every clip is a validation clip; check --validation-speakers")
        }
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
        if let initFrom {
            let initial = try CompactModel.load(directory: URL(fileURLWithPath: initFrom))
            try trainer.start(from: initial)
            say("initial weights: \(initFrom) (\(initial.configuration.head == configuration.head ? "with" : "without") its classifier)")
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
        let model = trainer.model()
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
                ("data", .string(data)),
                ("loss", .string(settings.loss.rawValue)),
                ("train_clips", .integer(Int64(trainCount))),
                ("validation_clips", .integer(Int64(validationCount))),
                ("validation_speakers", .string(validationSpeakers)),
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
                ("history", .array(trainer.history.map { $0.json() })),
                ("validation", final?.json ?? .null),
            ]))
    }

    func modelCard(settings: ClassifierTrainingSettings, trainCount: Int, validationCount: Int, final: ClassifierMetrics?) -> String {
        var text = """
            # EmoBake compact emotion model

            Trained with `emobake train classifier` (EmoBake \(EmoBake.version)): log-mel CNN, \
            \(settings.loss == .ce ? "softmax (cross-entropy)" : "Dirichlet") head, \(settings.epochs) epochs, seed \(settings.seed).

            - Training data: `\(data)`, \(trainCount) clips; validation: \(validationCount) clips (speakers \(validationSpeakers)).
            - Emotions: \(emotions).
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

struct TrainBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure training speed of the compact model on synthetic batches (no data needed).",
        discussion: """
            Runs forward + backward + AdamW steps on random log-mel batches and prints wall and
            CPU time per step and per clip. The machine may be shared: CPU time is the steadier
            figure.

            Example:
              emobake train bench --batch-size 32 --frames 300 --steps 5 -j 2
            """)

    @Option(name: .long, help: "Clips per batch.")
    var batchSize: Int = 32

    @Option(name: .long, help: "Frames per clip (100 per second).")
    var frames: Int = 300

    @Option(name: .long, help: "Measured steps (after one warm-up step).")
    var steps: Int = 5

    @Option(name: [.short, .customLong("jobs")], help: "Threads.")
    var jobs: Int = 2

    func validate() throws {
        if batchSize < 2 || batchSize > 1024 { throw ValidationError("--batch-size must be 2 to 1024") }
        if frames < 16 || frames > 10_000 { throw ValidationError("--frames must be 16 to 10000") }
        if steps < 1 || steps > 1000 { throw ValidationError("--steps must be 1 to 1000") }
        if jobs < 1 || jobs > 64 { throw ValidationError("--jobs must be 1 to 64") }
    }

    func run() throws {
        let configuration = CompactModelConfiguration(emotions: EmotionVocabulary.basicSeven)
        let report = TrainingBenchmark.run(
            configuration: configuration, batchSize: batchSize, frames: frames, steps: steps, threads: jobs)
        let perClip = report.cpuSecondsPerStep / Double(batchSize)
        print("OpenBLAS kernels: \(BLASCore.name); threads \(jobs)")
        print("batch \(batchSize) x \(frames) frames: \(DecimalFormat.fixed(report.wallSecondsPerStep * 1000, 1)) ms wall, "
            + "\(DecimalFormat.fixed(report.cpuSecondsPerStep * 1000, 1)) ms CPU per step; \(DecimalFormat.fixed(perClip * 1000, 2)) ms CPU per clip")
        print("estimated CPU per epoch of 960 clips: \(DecimalFormat.fixed(perClip * 960, 1)) s")
    }
}

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

    @Option(name: .long, help: "Labelled audio: a RAVDESS folder, a CSV of path,label, or a folder with labels.csv.")
    var data: String

    @Option(name: .long, help: "dirichlet or ce.")
    var loss: String = "dirichlet"

    @Option(name: [.short, .customLong("output")], help: "The model folder to write.")
    var output: String

    @Option(name: .long, help: "Speakers kept for validation, e.g. 17-20.")
    var validationSpeakers: String = "17-20"

    @Option(name: .long, help: "Emotions, comma-separated, in output order.")
    var emotions: String = EmotionVocabulary.basicSeven.joined(separator: ",")

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
            let emotionList = emotions.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
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
            let clips = try ClipCatalogue.load(URL(fileURLWithPath: data), emotions: emotionList)
            let (train, validation) = ClipCatalogue.split(clips, validationSpeakers: try ClipCatalogue.parseSpeakers(validationSpeakers))
            guard !train.isEmpty else { throw TrainingError("data.noTraining", "\(data): every clip is a validation clip; check --validation-speakers") }
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

struct TrainRecalibrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recalibrate",
        abstract: "Re-estimate a compact model's batch-norm statistics on clean training clips.",
        discussion: """
            Replaces batch norm's running statistics by their average over batches of the
            training clips (the --validation-speakers are left out), clean or --augmented, then
            rewrites model.safetensors. train classifier does this on a copy for each epoch's
            validation (the running statistics lag behind fast-moving weights early on); its
            final model keeps the running statistics, which measured better at the end of
            training. Use this for a model stopped early or fine-tuned elsewhere.

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
