import ArgumentParser
import AudioIO
import Common
import EmotionCore
import Foundation
import JSONIO
import Neural
import Recognition
import Training

struct EvalSequenceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sequence",
        abstract: "Score models on synthetic dialogues: mixture MAE against the ground truth (the paper's Table 3).",
        discussion: """
            Builds --dialogues synthetic dialogues from the clips of --speakers (default 17-20, which no EmoBake model trains on; seeded, so every run scores the same audio) and scores each model's track against the ground truth: the mean over frames (every 40 ms) and emotions of |predicted mixture - true mixture|. Lower is better; an even blend scores 0.245 against one-hot truth with 7 emotions.

            --model LABEL=DIR adds a model (repeat it). A Stage 1 model is scored over sliding windows of each --windows length (every --hop seconds, read at the truth's frames by linear interpolation), a sequence model over the whole clip. Rows are labels (and window lengths); columns are heads: Dirichlet, and CE (softmax) for cross-entropy models. Models fine-tuned on preferences of the simulated annotator are marked as such.

            Example (the paper's comparison):
              emobake eval sequence --data ../shared/data/ravdess \\
                --model "sliding window=runs/stage1-dirichlet" --model "sliding window=runs/stage1-ce" \\
                --model "sequence model=runs/sequence-dirichlet" --model "sequence model=runs/sequence-ce" \\
                --model "sequence + DPO (beta 0.5)=runs/dpo-dirichlet-0.5" --model "sequence + DPO (beta 0.5)=runs/dpo-ce-0.5"
            """)

    @Option(name: .long, help: "Labelled clips: a RAVDESS folder or a CSV of path,label,speaker.")
    var data: String

    @Option(name: .long, help: "Speakers whose clips make the dialogues.")
    var speakers: String = "17-20"

    @Option(name: .long, help: "Dialogues to build.")
    var dialogues: Int = 100

    @Option(name: .long, help: "Seed of the dialogues.")
    var seed: UInt64 = 2024

    @Option(name: .customLong("model"), help: ArgumentHelp("A model to score: LABEL=DIR, or DIR (repeat).", valueName: "label=dir"))
    var models: [String]

    @Option(name: .long, help: ArgumentHelp("Sliding-window lengths for Stage 1 models, seconds, comma-separated.", valueName: "seconds"))
    var windows: String = "0.25,0.5,0.75,1.0,1.4"

    @Option(name: .long, help: ArgumentHelp("Seconds between sliding windows.", valueName: "seconds"))
    var hop: Double = 0.1

    @Option(name: .long, help: ArgumentHelp("Also write the dialogues (audio and truth) here.", valueName: "dir"))
    var writeDialogues: String?

    @Option(name: [.short, .customLong("jobs")], help: "Threads.")
    var jobs: Int = 2

    @Flag(name: .long, help: "Print the table as JSON.")
    var json = false

    @Option(name: .long, help: ArgumentHelp("Also write the table as JSON to this file.", valueName: "file"))
    var saveJSON: String?

    func validate() throws {
        guard !models.isEmpty else { throw ValidationError("give at least one --model") }
        guard (1...100_000).contains(dialogues) else { throw ValidationError("--dialogues must be 1 to 100000") }
        guard hop > 0, hop <= 10 else { throw ValidationError("--hop must be in (0, 10] seconds") }
        _ = try windowLengths()
    }

    func windowLengths() throws -> [Double] {
        try windows.split(separator: ",").map {
            guard let value = Double($0.trimmingCharacters(in: .whitespaces)), value > 0, value <= 30 else {
                throw ValidationError("--windows: \"\($0)\" is not a window length in seconds (0, 30]")
            }
            return value
        }
    }

    enum Scorer {
        case window(any EmotionModel, Double)
        case sequence(SequenceModel)
    }

    struct Row {
        var label: String
        var column: String
        var directory: String
        var window: Double?
        var scorer: Scorer
        var simulated: Bool
        var mae = 0.0
    }

    func run() throws {
        do {
            try evaluate()
        } catch {
            printError(oneLineMessage(error))
            throw ExitCode(1)
        }
    }

    func evaluate() throws {
        let started = Date()
        SequenceCommandSupport.useThreads(jobs)
        var rows: [Row] = []
        var emotions: [String]?
        for entry in models {
            let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
            let path = parts.count == 2 ? parts[1] : parts[0]
            let directory = URL(fileURLWithPath: path)
            let training = try? JSONCodec.parse(contentsOf: directory.appendingPathComponent("training.json"))
            let simulated = (training?["simulated_pairs"]?.intValue ?? 0) > 0
            if SequenceModel.isSequenceModel(directory) {
                let model = try SequenceModel.load(directory: directory)
                let column = model.configuration.head == .dirichlet ? "Dirichlet" : "CE"
                rows.append(Row(label: parts.count == 2 ? parts[0] : directory.lastPathComponent, column: column, directory: path, window: nil, scorer: .sequence(model), simulated: simulated))
                if emotions == nil { emotions = model.emotions }
                guard Set(model.emotions) == Set(emotions!) else { throw TrainingError("eval.emotions", "\(path): its emotions differ from the first model's") }
            } else {
                let model = try SequenceCommandSupport.loadWindowModel(directory)
                var column = "model"
                if let compact = model as? CompactModel { column = compact.configuration.head == .dirichlet ? "Dirichlet" : "CE" }
                if emotions == nil { emotions = model.emotions }
                guard Set(model.emotions) == Set(emotions!) else { throw TrainingError("eval.emotions", "\(path): its emotions differ from the first model's") }
                for length in try windowLengths() {
                    let label = "\(parts.count == 2 ? parts[0] : "sliding window") \(DecimalFormat.trimmed(length, 2)) s"
                    rows.append(Row(label: label, column: column, directory: path, window: length, scorer: .window(model, length), simulated: simulated))
                }
            }
        }
        let names = emotions!
        let sources = try SequenceCommandSupport.dialogueSources(data: data, speakers: speakers, emotions: names)
        let builder = try SyntheticDialogueBuilder(clips: sources, emotions: names, seed: seed)
        let built = try SequenceCommandSupport.parallelMap(dialogues, jobs: jobs, progress: { SequenceCommandSupport.progress("dialogues \($0)/\(dialogues)") }) { index in
            try builder.dialogue(index: index, identifier: String(format: "eval_%04d", index))
        }
        if let writeDialogues {
            for dialogue in built { try dialogue.write(to: URL(fileURLWithPath: writeDialogues)) }
        }
        let seconds = built.reduce(0.0) { $0 + $1.audio.duration }
        let frames = built.reduce(0) { $0 + $1.truth.frameCount }
        for index in rows.indices {
            let row = rows[index]
            let errors: [(Double, Int)]
            switch row.scorer {
            case .window(let model, let length):
                let sliding = SlidingWindowPredictor(window: length, hop: hop)
                errors = try SequenceCommandSupport.singleThreadedKernels(restoring: jobs) {
                    try SequenceCommandSupport.parallelMap(built.count, jobs: jobs, progress: { SequenceCommandSupport.progress("\(row.label) (\(row.column)): \($0)/\(built.count)") }) { i in
                        let track = try sliding.predict(built[i].audio, model: model, source: built[i].identifier)
                        return try MixtureError.absoluteErrorSum(prediction: track, truth: built[i].truth)
                    }
                }
            case .sequence(let model):
                var collected: [(Double, Int)] = []
                for (i, dialogue) in built.enumerated() {
                    SequenceCommandSupport.progress("\(row.label) (\(row.column)): \(i + 1)/\(built.count)")
                    let track = try SequencePredictor().predict(dialogue.audio, model: model, source: dialogue.identifier)
                    collected.append(try MixtureError.absoluteErrorSum(prediction: track, truth: dialogue.truth))
                }
                errors = collected
            }
            rows[index].mae = errors.reduce(0) { $0 + $1.0 } / Double(errors.reduce(0) { $0 + $1.1 })
        }
        SequenceCommandSupport.progress("")
        func unique(_ values: [String]) -> [String] {
            var seen: Set<String> = []
            return values.filter { seen.insert($0).inserted }
        }
        let columns = unique(rows.map(\.column))
        let labels = unique(rows.map(\.label))
        // The best sliding window of each column (and each window label group).
        var best: [String: (Double, Double)] = [:]
        for row in rows where row.window != nil {
            if best[row.column] == nil || row.mae < best[row.column]!.0 { best[row.column] = (row.mae, row.window!) }
        }
        let anySimulated = rows.contains(where: \.simulated)
        if json || saveJSON != nil {
            let value: JSONValue = .object(
                JSONObject([
                    ("metric", "mixture MAE against the ground truth (mean over frames and emotions; lower is better)"),
                    ("data", .string(data)), ("speakers", .string(speakers)), ("dialogues", .integer(Int64(built.count))),
                    ("seed", .integer(Int64(bitPattern: seed))), ("seconds", .decimal(seconds, places: 1)), ("frames", .integer(Int64(frames))),
                    ("window_hop", .number(hop)),
                    (
                        "rows",
                        .array(
                            rows.map { row in
                                var object = JSONObject([
                                    ("method", .string(row.label)), ("column", .string(row.column)), ("model", .string(row.directory)),
                                    ("mae", .decimal(row.mae, places: 4)),
                                ])
                                if let window = row.window { object["window"] = .number(window) }
                                if row.simulated { object["preferences"] = .string("simulated-ground-truth (simulated annotator, not people)") }
                                return .object(object)
                            })
                    ),
                    (
                        "best_sliding_window",
                        .object(JSONObject(columns.compactMap { c in best[c].map { (c, .object(JSONObject([("mae", .decimal($0.0, places: 4)), ("window", .number($0.1))]))) } }))
                    ),
                ]))
            let text = try JSONCodec.serialize(value)
            if let saveJSON { try AtomicFile.write(text, to: URL(fileURLWithPath: saveJSON)) }
            if json {
                FileHandle.standardOutput.write(Data(text.utf8))
                return
            }
        }
        var text = "Mixture MAE against the ground truth (lower is better): \(built.count) synthetic dialogues of speakers \(speakers) (seed \(seed)), \(DecimalFormat.fixed(seconds, 1)) s, \(frames) frames at 25 fps; sliding windows every \(DecimalFormat.trimmed(hop, 3)) s\n\n"
        let width = max(28, (labels + ["best sliding window"]).map { $0.count + 2 }.max()!)
        func pad(_ s: String, _ n: Int) -> String { s + String(repeating: " ", count: max(1, n - s.count)) }
        text += pad("method", width) + columns.map { pad($0, 16) }.joined() + "\n"
        var printedBest = false
        for (position, label) in labels.enumerated() {
            let cells = columns.map { column -> String in
                guard let row = rows.first(where: { $0.label == label && $0.column == column }) else { return pad("-", 16) }
                return pad(DecimalFormat.fixed(row.mae, 4) + (row.simulated ? " *" : ""), 16)
            }
            text += pad(label, width) + cells.joined() + "\n"
            let isWindow = rows.contains { $0.label == label && $0.window != nil }
            let nextIsWindow = position + 1 < labels.count && rows.contains { $0.label == labels[position + 1] && $0.window != nil }
            if isWindow && !nextIsWindow && !printedBest && !best.isEmpty {
                text += pad("best sliding window", width)
                    + columns.map { c in pad(best[c].map { "\(DecimalFormat.fixed($0.0, 4)) (\(DecimalFormat.trimmed($0.1, 2)) s)" } ?? "-", 16) }.joined() + "\n"
                printedBest = true
            }
        }
        if anySimulated {
            text += "\n* fine-tuned with DPO on preferences of the simulated annotator (simulated-ground-truth: prefers the candidate closer to the ground truth), not of people\n"
        }
        text += "\n(\(DecimalFormat.fixed(Date().timeIntervalSince(started), 1)) s)\n"
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}
