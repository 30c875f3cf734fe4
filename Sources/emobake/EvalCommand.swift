import ArgumentParser
import Common
import Foundation
import JSONIO
import Neural
import Recognition
import Training

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Measure emotion models on labelled audio.",
        subcommands: [EvalClassifierCommand.self, EvalSpeedCommand.self, EvalSequenceCommand.self])
}

struct EvalClassifierCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "classifier",
        abstract: "Score a model on labelled clips: accuracy, unweighted accuracy, confusion, mixture MAE, calibration.",
        discussion: """
            Any model folder works (the compact model, wav2vec2 checkpoints). Each clip is
            scored whole (one window), or only its centre --window seconds (as a sliding-window
            run sees it). DATA is a RAVDESS folder or a CSV of
            path,label[,speaker,split] (see emobake train classifier --help). Labels must be
            emotions the model knows (calm counts as neutral for a model without calm).

            Figures: accuracy (largest mixture component = label), unweighted accuracy (mean
            per-class recall), the confusion matrix (rows true, columns predicted), mixture MAE
            (mean |mixture - one-hot| over clips and emotions) and calibration error (ECE, 10
            confidence bins).

            Examples:
              emobake eval classifier --model Presets/models/default --data ../shared/data/ravdess --speakers 17-20
              emobake eval classifier --model models/mine --data test.csv --json
            """)

    @Option(name: .long, help: "The model folder (default: the shipped default model).")
    var model: String?

    @Option(name: .long, help: "Labelled audio: a RAVDESS folder, a CSV of path,label, or a folder with labels.csv.")
    var data: String

    @Option(name: .long, help: "Only these speakers, e.g. 17-20 (default: every clip).")
    var speakers: String?

    @Option(name: .long, help: "Only clips whose split column says train or validation.")
    var split: String?

    @Option(name: .long, help: "Score each clip's centre window of this many seconds instead of the whole clip.")
    var window: Double?

    @Option(name: .long, help: "The Presets folder (for the default model).")
    var presets: String?

    @Flag(name: .long, help: "Print the figures as JSON.")
    var json = false

    @Option(name: [.short, .customLong("jobs")], help: "Threads for the neural network.")
    var jobs: Int = 2

    func validate() throws {
        if let split, !["train", "validation"].contains(split) { throw ValidationError("--split must be train or validation") }
        if jobs < 1 || jobs > 64 { throw ValidationError("--jobs must be 1 to 64") }
        if let window, !(window > 0 && window <= 3600) { throw ValidationError("--window must be in (0, 3600] seconds") }
    }

    func run() throws {
        do {
            let directory: URL
            if let model {
                directory = URL(fileURLWithPath: model)
            } else {
                directory = try ResourceLocator.presetsDirectory(explicit: presets).appendingPathComponent("models/default")
            }
            RuntimeThreads.configure(jobs)
            let emotionModel = try ModelLoader.load(directory: directory)
            var clips = try ClipCatalogue.load(URL(fileURLWithPath: data), emotions: emotionModel.emotions)
            if let speakers {
                let chosen = try ClipCatalogue.parseSpeakers(speakers)
                clips = ClipCatalogue.split(clips.map { var c = $0; c.split = nil; return c }, validationSpeakers: chosen).validation
            }
            if let split { clips = clips.filter { $0.split == split } }
            guard !clips.isEmpty else { throw TrainingError("eval.empty", "\(data): no clips left to evaluate after --speakers/--split") }
            let terminal = isatty(2) != 0
            let started = Date()
            let (metrics, _) = try ClassifierEvaluation.evaluate(model: emotionModel, clips: clips, window: window) { done, total in
                if terminal { FileHandle.standardError.write(Data("\r\u{1B}[Kclips \(done)/\(total)".utf8)) }
            }
            if terminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
            if json {
                var object = metrics.json.objectValue!
                object["model"] = .string(directory.path)
                object["data"] = .string(data)
                object["window"] = window.map { .decimal($0, places: 3) } ?? .null
                FileHandle.standardOutput.write(Data(try JSONCodec.serialize(.object(object)).utf8))
            } else {
                let header = "\(emotionModel.identifier) on \(clips.count) clips of \(data) (\(DecimalFormat.fixed(Date().timeIntervalSince(started), 1)) s)\n"
                FileHandle.standardOutput.write(Data((header + metrics.text).utf8))
            }
        } catch {
            printError(oneLineMessage(error))
            throw ExitCode(1)
        }
    }
}
