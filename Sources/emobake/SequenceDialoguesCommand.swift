import ArgumentParser
import Common
import EmotionCore
import Foundation
import JSONIO
import Training

/// `emobake dialogues`: synthetic dialogues with ground truth, for Stage 2 and 3 experiments.
struct SequenceDialoguesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dialogues",
        abstract: "Write synthetic dialogues (clips of different emotions joined by crossfades and pauses) with their ground truth.",
        discussion: """
            Each dialogue joins 2 to 4 labelled clips (consecutive clips differ in emotion; half the dialogues keep one speaker) with a crossfade of 0.1-0.5 s or a pause of 0.05-0.6 s between clips, after trimming each clip's leading and trailing silence. The ground truth, one frame every 40 ms, is the label of the clip playing; through a crossfade or a pause it moves linearly from one clip's label to the next (a mixture). Seeded: the same data, speakers, seed and count give the same files.

            Writes <id>.wav (16 kHz), <id>.truth.json (an emotion track) and manifest.json (clips, speakers and times of every dialogue). DATA is a RAVDESS folder, or a CSV of path,label,speaker. Keep evaluation speakers apart from training speakers: RAVDESS actors 17-20 are EmoBake's evaluation set.

            Examples:
              emobake dialogues --data ../shared/data/ravdess --speakers 17-20 --count 100 --seed 2024 -o eval-dialogues
              emobake dialogues --data ../shared/data/ravdess --speakers 01-16 --count 150 --seed 7 -o dpo-dialogues
            """)

    @Option(name: .long, help: "Labelled audio: a RAVDESS folder, or a CSV of path,label,speaker.")
    var data: String

    @Option(name: .long, help: "Speakers whose clips are used, e.g. 01-16 or 17-20.")
    var speakers: String

    @Option(name: .long, help: "Dialogues to write.")
    var count: Int = 20

    @Option(name: .long, help: "Seed: the same seed gives the same dialogues.")
    var seed: UInt64 = 1

    @Option(name: .long, help: "Emotions, comma-separated (calm merges into neutral when absent).")
    var emotions: String = EmotionVocabulary.basicSeven.joined(separator: ",")

    @Option(name: .long, help: "Prefix of the dialogue names.")
    var prefix: String = "dialogue"

    @Option(name: [.short, .customLong("output")], help: ArgumentHelp("Folder to write.", valueName: "dir"))
    var output: String

    @Option(name: [.short, .customLong("jobs")], help: "Threads.")
    var jobs: Int = 2

    @Flag(help: "Print nothing on success.")
    var quiet = false

    func validate() throws {
        guard (1...100_000).contains(count) else { throw ValidationError("--count must be 1 to 100000") }
        guard jobs >= 1 else { throw ValidationError("--jobs must be at least 1") }
        guard !prefix.isEmpty, prefix.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) else {
            throw ValidationError("--prefix may hold letters, digits, '_' and '-' only")
        }
    }

    func run() throws {
        do {
            let names = emotions.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            let sources = try SequenceCommandSupport.dialogueSources(data: data, speakers: speakers, emotions: names)
            let builder = try SyntheticDialogueBuilder(clips: sources, emotions: names, seed: seed)
            let folder = URL(fileURLWithPath: output)
            // Clip paths in the manifest are relative to the data folder (the CSV's folder).
            var isFolder: ObjCBool = false
            let base = URL(fileURLWithPath: data)
            let dataFolder = FileManager.default.fileExists(atPath: base.path, isDirectory: &isFolder) && isFolder.boolValue ? base : base.deletingLastPathComponent()
            let entries = try SequenceCommandSupport.parallelMap(count, jobs: jobs, progress: { SequenceCommandSupport.progress("dialogues \($0)/\(count)") }) { index in
                let dialogue = try builder.dialogue(index: index, identifier: String(format: "%@_%04d", prefix, index))
                try dialogue.write(to: folder)
                return (dialogue.manifestEntry(relativeTo: dataFolder), dialogue.audio.duration)
            }
            SequenceCommandSupport.progress("")
            let manifest: JSONValue = .object(
                JSONObject([
                    ("format", "emobake-dialogues"), ("version", 1), ("data", .string(data)), ("speakers", .string(speakers)),
                    ("seed", .integer(Int64(bitPattern: seed))), ("emotions", .array(names.map { .string($0) })),
                    ("frame_rate", .number(builder.recipe.frameRate)), ("dialogues", .array(entries.map(\.0))),
                ]))
            try AtomicFile.write(try JSONCodec.serialize(manifest), to: folder.appendingPathComponent("manifest.json"))
            if !quiet {
                let seconds = entries.reduce(0) { $0 + $1.1 }
                print("\(output): \(count) dialogues, \(DecimalFormat.fixed(seconds, 1)) s of audio, from \(sources.count) clips of speakers \(speakers)")
            }
        } catch {
            printError(oneLineMessage(error))
            throw ExitCode(1)
        }
    }
}
