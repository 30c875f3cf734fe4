import ArgumentParser
import AudioIO
import Common
import EmotionCore
import Foundation
import JSONIO
import Neural
import Recognition
import Training

struct TrainSequenceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sequence",
        abstract: "Train a sequence model (Stage 2) to reproduce a Stage 1 model's sliding-window mixtures in one pass.",
        discussion: """
            The teacher (a Stage 1 model) runs over sliding windows (--target-window seconds every --target-hop) of each training clip; its timestamped mixtures are the targets. The sequence model starts as the teacher run as a sliding window of --pool-window seconds (same backbone and head; a moving mean of its features over the window; temporal layers at identity) and learns, per frame, to reproduce those targets from the whole clip: with the Dirichlet NLL (--loss dirichlet, plus the cross-entropy of the Dirichlet mean) or with cross-entropy against the soft targets (--loss ce, softmax head).

            Training clips: synthetic dialogues built in memory from --data (a RAVDESS folder or a CSV of path,label,speaker) and --speakers (default 01-16; keep 17-20 for evaluation), or any audio files with --audio (no labels needed: the teacher makes the targets). With --data, --dev-dialogues more dialogues of the same speakers (another seed) report the mixture MAE against their ground truth after each epoch.

            Writes a model folder (config.json, model.safetensors, training.json) that 'emobake predict --mode sequence --model DIR' reads. Put it in a Stage 1 folder's sequence/ subfolder to ship both together.

            Examples:
              emobake train sequence --teacher Presets/models/default --data ../shared/data/ravdess -o models/sequence
              emobake train sequence --teacher models/ce --loss ce --data ../shared/data/ravdess --dialogues 400 -o models/sequence-ce
              emobake train sequence --teacher models/mine --audio recordings/ -o models/mine-sequence
            """)

    @Option(name: .long, help: ArgumentHelp("The Stage 1 model (default: Presets/models/default).", valueName: "dir"))
    var teacher: String?

    @Option(name: .long, help: "Labelled clips for synthetic dialogues: a RAVDESS folder or a CSV of path,label,speaker.")
    var data: String?

    @Option(name: .long, help: "Speakers whose clips make the training dialogues.")
    var speakers: String = "01-16"

    @Option(name: .long, help: "Training dialogues to build.")
    var dialogues: Int = 300

    @Option(name: .long, help: "Extra dialogues of the same speakers (another seed) scored against their ground truth each epoch.")
    var devDialogues: Int = 40

    @Option(name: .long, parsing: .upToNextOption, help: ArgumentHelp("Audio files or folders to train on instead of synthetic dialogues.", valueName: "audio"))
    var audio: [String] = []

    @Option(name: .long, help: "dirichlet or ce (default: the teacher's head: dirichlet for a Dirichlet teacher, ce for a softmax one).")
    var loss: String?

    @Option(name: .long, help: ArgumentHelp("Teacher window length in seconds (the paper compared 0.25 to 1.4; 2 made the shipped model); several, comma-separated, average their mixtures.", valueName: "seconds"))
    var targetWindow: String = "2.0"

    @Option(name: .long, help: ArgumentHelp("Seconds between teacher windows.", valueName: "seconds"))
    var targetHop: Double = 0.1

    @Option(name: .long, help: "Epochs.")
    var epochs: Int = 12

    @Option(name: .long, help: "Crops per batch.")
    var batchSize: Int = 8

    @Option(name: .long, help: ArgumentHelp("Seconds per training crop (frames whose window reaches past a cut end do not count).", valueName: "seconds"))
    var crop: Double = 8

    @Option(name: .long, help: "Peak learning rate (warm-up, then cosine to 0).")
    var learningRate: Double = 1e-3

    @Option(name: .long, help: ArgumentHelp("Seconds of the moving mean over the backbone's features before the temporal blocks (default: the longest --target-window): the model starts as the teacher run as a sliding window, at 6.25 frames per second. 0: no mean, every frame classified on its own at 25 frames per second.", valueName: "seconds"))
    var poolWindow: Double?

    @Flag(name: .long, help: "Normalise features over the whole clip instead of over a --pool-window around each frame (as the teacher normalises each window).")
    var wholeClipNormalisation = false

    @Option(name: .long, help: ArgumentHelp("Sharpen (below 1) or soften (above 1) the teacher's mixtures before the loss: y^(1/T), renormalised; 1 keeps them. Unsharpened per-frame losses flatten the outputs (BENCHMARKS.md, Stages 2-3).", valueName: "T"))
    var targetTemperature: Double = 0.3

    @Flag(name: .long, help: "Train the backbone too (by default only the temporal blocks and the head train; the backbone keeps the teacher's weights). Use a lower --learning-rate, e.g. 1e-4.")
    var trainBackbone = false

    @Option(name: .long, help: "Residual temporal blocks.")
    var temporalLayers: Int = 4

    @Option(name: .long, help: "Kernel size of the temporal convolutions (odd).")
    var temporalKernel: Int = 9

    @Option(name: .long, help: "Seed (dialogues, crops, order).")
    var seed: UInt64 = 1

    @Option(name: .long, help: "Presets folder, to find the default teacher.")
    var presets: String?

    @Option(name: [.short, .customLong("jobs")], help: "Threads.")
    var jobs: Int = 2

    @Option(name: [.short, .customLong("output")], help: ArgumentHelp("The model folder to write.", valueName: "dir"))
    var output: String

    @Flag(name: .long, help: "Print the summary as JSON on standard output (progress goes to standard error).")
    var json = false

    @Flag(help: "Print only the summary.")
    var quiet = false

    func validate() throws {
        if let loss, SequenceTrainingSettings.Loss(rawValue: loss) == nil { throw ValidationError("--loss must be dirichlet or ce, not \(loss)") }
        guard (data == nil) != audio.isEmpty else { throw ValidationError("give either --data (synthetic dialogues) or --audio (your own recordings)") }
        guard let windows = try? targetWindows(), !windows.isEmpty, windows.allSatisfy({ $0 > 0 && $0 <= 30 }), targetHop > 0, targetHop <= 10 else {
            throw ValidationError("--target-window (0, 30] and --target-hop (0, 10] seconds")
        }
        guard (1...10_000).contains(epochs) else { throw ValidationError("--epochs must be 1 to 10000") }
        guard (1...1024).contains(batchSize) else { throw ValidationError("--batch-size must be 1 to 1024") }
        guard crop >= 0.2, crop <= 120 else { throw ValidationError("--crop must be 0.2 to 120 seconds") }
        guard learningRate > 0, learningRate < 1 else { throw ValidationError("--learning-rate must be in (0, 1)") }
        guard (0...32).contains(temporalLayers) else { throw ValidationError("--temporal-layers must be 0 to 32") }
        guard targetTemperature >= 0.05, targetTemperature <= 20 else { throw ValidationError("--target-temperature must be 0.05 to 20") }
        if let poolWindow { guard poolWindow >= 0, poolWindow <= 30 else { throw ValidationError("--pool-window must be 0 to 30 seconds") } }
        guard temporalKernel >= 1, temporalKernel <= 63, temporalKernel % 2 == 1 else { throw ValidationError("--temporal-kernel must be odd, 1 to 63") }
        guard (1...20_000).contains(dialogues), (0...20_000).contains(devDialogues) else { throw ValidationError("--dialogues 1-20000, --dev-dialogues 0-20000") }
        guard jobs >= 1 else { throw ValidationError("--jobs must be at least 1") }
    }

    func targetWindows() throws -> [Double] {
        try targetWindow.split(separator: ",").map {
            guard let value = Double($0.trimmingCharacters(in: .whitespaces)) else { throw ValidationError("--target-window: \"\($0)\" is not a number") }
            return value
        }
    }

    func say(_ text: String) {
        guard !quiet else { return }
        let line = Data((text + "\n").utf8)
        if json { FileHandle.standardError.write(line) } else { FileHandle.standardOutput.write(line) }
    }

    func run() throws {
        do {
            try train()
        } catch let error as ValidationError {
            throw error
        } catch {
            printError(oneLineMessage(error))
            throw ExitCode(1)
        }
    }

    func train() throws {
        let started = Date()
        SequenceCommandSupport.useThreads(jobs)
        let teacherURL = try teacher.map { URL(fileURLWithPath: $0) } ?? SequenceCommandSupport.defaultModelDirectory(presets: presets)
        let teacherModel = try CompactModel.load(directory: teacherURL)
        var settings = SequenceTrainingSettings()
        let teacherLoss: SequenceTrainingSettings.Loss = teacherModel.configuration.head == .softmax ? .ce : .dirichlet
        settings.loss = loss.flatMap(SequenceTrainingSettings.Loss.init(rawValue:)) ?? teacherLoss
        if settings.loss != teacherLoss {
            say("note: the teacher has a \(teacherModel.configuration.head.rawValue) head; the sequence model's \(settings.loss == .ce ? "softmax" : "Dirichlet") head starts from its classifier all the same")
        }
        settings.epochs = epochs
        settings.batchSize = batchSize
        settings.cropSeconds = crop
        settings.peakRate = learningRate
        settings.seed = seed
        settings.threads = jobs
        settings.freezeBackbone = !trainBackbone
        settings.targetTemperature = targetTemperature
        let head: SequenceHead = settings.loss == .ce ? .softmax(concentration: teacherModel.configuration.softmaxConcentration) : .dirichlet
        var backbone = teacherModel.configuration
        backbone.dropout = 0
        let pool = try poolWindow ?? targetWindows().max()!
        let configuration = SequenceModelConfiguration(
            backbone: backbone, head: head, timePooledBlocks: pool > 0 ? backbone.channels.count : 2, temporalLayers: temporalLayers,
            temporalKernel: temporalKernel,
            windowPoolFrames: pool > 0 ? SequenceModelConfiguration.windowPoolFrames(seconds: pool, backbone: backbone) : 1,
            normalisationFrames: pool > 0 && !wholeClipNormalisation ? Int((pool * Double(backbone.features.sampleRate) / Double(backbone.features.hopLength)).rounded()) : 0)
        let network = try SequenceNetwork(configuration: configuration, stageOne: teacherModel.network, seed: seed)
        let model = SequenceModel(network: network, identifier: URL(fileURLWithPath: output).lastPathComponent)
        let slidings = try targetWindows().map { SlidingWindowPredictor(window: $0, hop: targetHop) }

        // Clips: synthetic dialogues (with truth) or the user's audio (without).
        typealias Clip = (identifier: String, audio: AudioBuffer, truth: EmotionTrack?)
        var makeTrain: (Int) throws -> Clip
        var trainCount: Int
        var makeDev: ((Int) throws -> Clip)?
        var description: String
        if let data {
            let sources = try SequenceCommandSupport.dialogueSources(data: data, speakers: speakers, emotions: teacherModel.emotions)
            let builder = try SyntheticDialogueBuilder(clips: sources, emotions: teacherModel.emotions, seed: seed)
            let devBuilder = try SyntheticDialogueBuilder(clips: sources, emotions: teacherModel.emotions, seed: seed &+ 0xDE7)
            makeTrain = { index in
                let dialogue = try builder.dialogue(index: index)
                return (dialogue.identifier, dialogue.audio, dialogue.truth)
            }
            makeDev = devDialogues > 0 ? { index in
                let dialogue = try devBuilder.dialogue(index: index, identifier: String(format: "dev_%04d", index))
                return (dialogue.identifier, dialogue.audio, dialogue.truth)
            } : nil
            trainCount = dialogues
            description = "\(dialogues) synthetic dialogues of \(sources.count) clips of speakers \(speakers) in \(data) (seed \(seed))"
        } else {
            let files = try SequenceCommandSupport.audioFiles(audio)
            makeTrain = { index in (files[index].lastPathComponent, try AudioDecoder.read(files[index]), nil) }
            trainCount = files.count
            description = "\(files.count) audio files (\(audio.joined(separator: ", ")))"
        }
        say("teacher: \(teacherModel.identifier) (\(teacherURL.path)), sliding windows of \(targetWindow) s every \(targetHop) s" + (slidings.count > 1 ? " (mixtures averaged)" : ""))
        say("data: \(description)")

        // Targets: the teacher over sliding windows, read at the sequence model's frames.
        func examples(_ count: Int, _ make: @escaping (Int) throws -> Clip, label: String) throws -> [SequenceExample] {
            // One clip per worker thread, each with single-threaded kernels.
            return try SequenceCommandSupport.singleThreadedKernels(restoring: jobs) {
                try SequenceCommandSupport.parallelMap(count, jobs: jobs, progress: { SequenceCommandSupport.progress("\(label): teacher targets \($0)/\(count)") }) { index in
                let clip = try make(index)
                let tracks = try slidings.map { try $0.predict(clip.audio, model: teacherModel, source: clip.identifier) }
                return try SequenceExample.make(identifier: clip.identifier, audio: clip.audio, teacherTracks: tracks, truth: clip.truth, model: model)
            }
            }
        }
        let train = try examples(trainCount, makeTrain, label: "training clips")
        let dev = try makeDev.map { try examples(devDialogues, $0, label: "dev dialogues") } ?? []
        SequenceCommandSupport.progress("")
        let seconds = train.reduce(0.0) { $0 + Double($1.frames) / 100 }
        say("targets: \(train.count) training clips (\(DecimalFormat.fixed(seconds, 1)) s), \(dev.count) dev dialogues in \(DecimalFormat.fixed(Date().timeIntervalSince(started), 1)) s")

        let trainer = SequenceTrainer(network: network, settings: settings, train: train, validation: dev)
        let parameters = network.parameters.reduce(0) { $0 + $1.variable.count }
        var teacherDev: Double?
        if !dev.isEmpty {
            var sum = 0.0, count = 0
            for example in dev {
                let rows = example.targets
                let track = EmotionTrack(
                    emotions: model.emotions, times: SequenceExample.outputTimes(frames: example.frames, configuration: configuration),
                    alpha: rows.map { max($0, 1e-9) })
                if let truth = example.truth, let (s, n) = try? MixtureError.absoluteErrorSum(prediction: track, truth: truth) {
                    sum += s
                    count += n
                }
            }
            teacherDev = sum / Double(max(1, count))
            let start = trainer.evaluate(dev)
            say(
                "dev truth MAE: teacher's sliding windows \(DecimalFormat.fixed(teacherDev!, 4)), sequence model before training \(DecimalFormat.fixed(start.truthMAE ?? .nan, 4)) (target MAE \(DecimalFormat.fixed(start.targetMAE, 4)))")
        }
        say("model: sequence model, \(parameters) parameters, \(head.name) head, \(configuration.windowPoolFrames > 1 ? "moving mean over \(configuration.windowPoolFrames) frames, " : "")\(configuration.temporalLayers) temporal blocks (k=\(temporalKernel)), \(DecimalFormat.fixed(configuration.frameRate, 2)) frames per second; \(trainer.stepsPerEpoch) steps per epoch")
        while trainer.completedEpochs < epochs {
            let epoch = trainer.completedEpochs + 1
            let report = trainer.runEpoch { step, steps in SequenceCommandSupport.progress("epoch \(epoch)/\(epochs): step \(step)/\(steps)") }
            SequenceCommandSupport.progress("")
            var line = "epoch \(report.epoch)/\(epochs)  loss \(DecimalFormat.fixed(report.loss, 4))"
            if let validation = report.validation {
                line += "  dev target MAE \(DecimalFormat.fixed(validation.targetMAE, 4))"
                if let truth = validation.truthMAE { line += "  dev truth MAE \(DecimalFormat.fixed(truth, 4))" }
            }
            line += "  lr \(String(format: "%.2e", report.learningRate))  \(DecimalFormat.fixed(report.seconds, 1)) s"
            say(line)
        }
        let outputURL = URL(fileURLWithPath: output)
        try model.write(to: outputURL, metadata: ["teacher": teacherModel.identifier, "trained_epochs": String(trainer.completedEpochs)])
        let summary: JSONValue = .object(
            JSONObject([
                ("model", .string(output)), ("stage", "sequence"), ("teacher", .string(teacherURL.path)),
                ("teacher_window", .string(targetWindow)), ("teacher_hop", .number(targetHop)), ("data", .string(description)),
                ("training_clips", .integer(Int64(train.count))), ("dev_dialogues", .integer(Int64(dev.count))),
                ("parameters", .integer(Int64(parameters))), ("settings", settings.json),
                ("dev_teacher_truth_mae", teacherDev.map { .decimal($0, places: 4) } ?? .null),
                ("history", .array(trainer.history.map(\.json))),
                ("seconds", .decimal(Date().timeIntervalSince(started), places: 1)),
            ]))
        try AtomicFile.write(try JSONCodec.serialize(summary), to: outputURL.appendingPathComponent("training.json"))
        if json {
            FileHandle.standardOutput.write(Data(try JSONCodec.serialize(summary).utf8))
        } else if !quiet {
            print("wrote \(output) (config.json, model.safetensors, training.json) in \(DecimalFormat.fixed(Date().timeIntervalSince(started), 1)) s")
        }
    }
}
