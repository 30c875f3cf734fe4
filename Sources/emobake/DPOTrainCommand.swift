import ArgumentParser
import Common
import EmotionCore
import Foundation
import JSONIO
import Neural
import Recognition
import Training

struct TrainDPOCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dpo",
        abstract: "Fine-tune a sequence model from preferences with DPO (Stage 3).",
        discussion: """
            PREFERENCES is a JSON-lines file of judgements (exported from a review page, written by 'emobake review serve', or by 'emobake review simulate'): the clip, two candidate tracks, which one was chosen and who chose. Relative paths are resolved against --base (default: the preferences file's folder; use the review folder when the file was downloaded elsewhere).

            The model before training is the frozen reference. Each step lowers -log sigmoid(beta [(log p(y_w) - log p_ref(y_w)) - (log p(y_l) - log p_ref(y_l))]) over the pairs, where log p(y) sums over frames the Dirichlet log-density of the candidate's mixture under the model's alpha. --beta (0.5 by default, the paper's best) sets how far the model may drift from the reference: too low forgets what it knew.

            Writes a model folder (config.json, model.safetensors, training.json with who made the preferences: judgements of the simulated annotator are reported as simulated).

            Examples:
              emobake train dpo --model models/sequence --preferences review/preferences.jsonl -o models/sequence-dpo
              emobake train dpo --model models/sequence --preferences ~/Downloads/preferences.jsonl --base review --beta 0.1 -o models/dpo-0.1
            """)

    @Option(name: .long, help: ArgumentHelp("The sequence model to fine-tune (a folder, or one with a sequence/ subfolder).", valueName: "dir"))
    var model: String

    @Option(name: .long, help: ArgumentHelp("Preferences file (JSON lines).", valueName: "file"))
    var preferences: String

    @Option(name: .long, help: ArgumentHelp("Folder the preferences' relative paths start from.", valueName: "dir"))
    var base: String?

    @Option(name: .long, help: "DPO beta.")
    var beta: Double = 0.5

    @Option(name: .long, help: "Epochs over the clips.")
    var epochs: Int = 4

    @Option(name: .long, help: "Clips per optimiser step.")
    var clipsPerStep: Int = 4

    @Option(name: .long, help: "Peak learning rate (cosine to 0).")
    var learningRate: Double = 1e-4

    @Option(name: .long, help: "Seed (clip order).")
    var seed: UInt64 = 1

    @Option(name: [.short, .customLong("jobs")], help: "Threads.")
    var jobs: Int = 2

    @Option(name: [.short, .customLong("output")], help: ArgumentHelp("The model folder to write.", valueName: "dir"))
    var output: String

    @Flag(name: .long, help: "Print the summary as JSON on standard output (progress goes to standard error).")
    var json = false

    @Flag(help: "Print only the summary.")
    var quiet = false

    func validate() throws {
        guard beta > 0, beta <= 100 else { throw ValidationError("--beta must be in (0, 100]") }
        guard (1...10_000).contains(epochs) else { throw ValidationError("--epochs must be 1 to 10000") }
        guard (1...1024).contains(clipsPerStep) else { throw ValidationError("--clips-per-step must be 1 to 1024") }
        guard learningRate > 0, learningRate < 1 else { throw ValidationError("--learning-rate must be in (0, 1)") }
        guard jobs >= 1 else { throw ValidationError("--jobs must be at least 1") }
    }

    func say(_ text: String) {
        guard !quiet else { return }
        let line = Data((text + "\n").utf8)
        if json { FileHandle.standardError.write(line) } else { FileHandle.standardOutput.write(line) }
    }

    func run() throws {
        do {
            try train()
        } catch {
            printError(oneLineMessage(error))
            throw ExitCode(1)
        }
    }

    func train() throws {
        let started = Date()
        SequenceCommandSupport.useThreads(jobs)
        let modelURL = try SequenceCommandSupport.sequenceModelDirectory(URL(fileURLWithPath: model))
        let sequenceModel = try SequenceModel.load(directory: modelURL)
        let preferencesURL = URL(fileURLWithPath: preferences)
        let judgements = try PreferencesFile.read(preferencesURL)
        let annotators = PreferencesFile.annotatorSummary(judgements)
        let simulated = judgements.filter(\.isSimulated).count
        let baseURL = base.map { URL(fileURLWithPath: $0) } ?? preferencesURL.deletingLastPathComponent()
        let clips = try DPOClip.load(preferences: judgements, base: baseURL, model: sequenceModel)
        say("preferences: \(judgements.count) pairs on \(clips.count) clips by \(annotators)")
        var settings = DPOSettings()
        settings.beta = beta
        settings.epochs = epochs
        settings.clipsPerStep = clipsPerStep
        settings.peakRate = learningRate
        settings.seed = seed
        settings.threads = jobs
        let trainer = DPOTrainer(network: sequenceModel.network, settings: settings, clips: clips)
        say("reference: \(sequenceModel.identifier) (\(modelURL.path)), frozen; beta \(beta); \(trainer.stepsPerEpoch) steps per epoch")
        while trainer.completedEpochs < epochs {
            let epoch = trainer.completedEpochs + 1
            let report = trainer.runEpoch { step, steps in SequenceCommandSupport.progress("epoch \(epoch)/\(epochs): step \(step)/\(steps)") }
            SequenceCommandSupport.progress("")
            say(
                "epoch \(report.epoch)/\(epochs)  DPO loss \(DecimalFormat.fixed(report.statistics.meanLoss, 4))  pairs ranked as chosen \(DecimalFormat.fixed(report.statistics.rankingAccuracy, 3))  mean margin \(DecimalFormat.fixed(report.statistics.meanMargin, 3))  lr \(String(format: "%.2e", report.learningRate))  \(DecimalFormat.fixed(report.seconds, 1)) s"
            )
        }
        let final = trainer.evaluate()
        let outputURL = URL(fileURLWithPath: output)
        let tuned = SequenceModel(network: sequenceModel.network, identifier: outputURL.lastPathComponent)
        try tuned.write(
            to: outputURL,
            metadata: ["reference": sequenceModel.identifier, "dpo_beta": String(beta), "preferences_annotators": annotators])
        let summary: JSONValue = .object(
            JSONObject([
                ("model", .string(output)), ("stage", "dpo"), ("reference", .string(modelURL.path)), ("preferences", .string(preferences)),
                ("pairs", .integer(Int64(judgements.count))), ("clips", .integer(Int64(clips.count))),
                ("annotators", .string(annotators)), ("simulated_pairs", .integer(Int64(simulated))),
                ("settings", settings.json), ("history", .array(trainer.history.map(\.json))),
                ("final_loss", .decimal(final.meanLoss, places: 5)), ("final_ranking_accuracy", .decimal(final.rankingAccuracy, places: 4)),
                ("seconds", .decimal(Date().timeIntervalSince(started), places: 1)),
            ]))
        try AtomicFile.write(try JSONCodec.serialize(summary), to: outputURL.appendingPathComponent("training.json"))
        if json {
            FileHandle.standardOutput.write(Data(try JSONCodec.serialize(summary).utf8))
        } else if !quiet {
            print(
                "wrote \(output): DPO loss \(DecimalFormat.fixed(final.meanLoss, 4)), \(DecimalFormat.fixed(100 * final.rankingAccuracy, 1))% of pairs ranked as chosen"
                    + (simulated > 0 ? " (\(simulated) of \(judgements.count) judgements by the simulated annotator, not people)" : ""))
        }
    }
}
