import ArgumentParser
import Batch
import Common
import ExportFormats
import Foundation
import Neural
import Recognition

struct BakeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bake",
        abstract: "Bake every line of a dialogue script: parallel, incremental, deterministic.",
        discussion: """
            SCRIPT is CSV or TSV (a header row, as spreadsheets export it), JSON or XML, with the \
            columns id, character, audio (relative to the script) and optionally text, language, \
            emotion (a director's hint such as "angry"), start (seconds into the cinematic), \
            scene, and track (an existing emotion track used instead of audio).

            The project file (JSON) gives per-character rig, smoothing and intensity, the output \
            formats, frame rate, model and how it hears lines ("mode": auto, sequence or window), \
            hint strength and the output path template, for example \
            {language}/{character}/{id}. See README.md, "Baking dialogue scripts".

            Lines whose audio, settings, model and EmoBake version are unchanged are skipped. A \
            bad line is reported and the others go on; the exit code is 1 if any line failed. \
            DIR gets each line's files, manifest.json, report.csv, report.html, timings.json, \
            and timelines/ for lines with a start.

            Example:
              emobake bake Fixtures/demo/script.csv --project Fixtures/demo/project.json -o out/demo
              emobake bake script.csv -o out --shard auto/8   # on 8 machines, then:
              emobake merge out
            """)

    @Argument(help: "The dialogue script (.csv, .tsv, .json or .xml).")
    var script: String

    @Option(name: .long, help: "The project file (JSON). Without it every character uses the defaults.")
    var project: String?

    @Option(name: [.short, .customLong("output")], help: "The output folder.")
    var output: String

    @Option(name: [.short, .customLong("jobs")], help: "Lines baked at the same time (default: the number of cores).")
    var jobs: Int?

    @Flag(name: .long, help: "Bake every line again, even when its outputs are up to date.")
    var force = false

    @Flag(name: .customLong("fail-fast"), help: "Stop starting lines after the first failure.")
    var failFast = false

    @Option(
        name: .long,
        help: "Bake only share I of N (I from 0), or auto/N to take I from JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID.")
    var shard: String?

    @Flag(name: .long, help: "Print one JSON object per event (started, done, failed, progress, finished) on standard output.")
    var json = false

    @Flag(name: .long, help: "Print only failures and the summary.")
    var quiet = false

    @OptionGroup var presetOptions: PresetOptions

    func validate() throws {
        if let jobs, jobs < 1 || jobs > 256 { throw ValidationError("--jobs must be 1 to 256, not \(jobs)") }
        if let shard {
            do {
                _ = try Shard.parse(shard)
            } catch {
                throw ValidationError(oneLineMessage(error))
            }
        }
    }

    func run() throws {
        do {
            let shard = try self.shard.map { try Shard.parse($0) }
            let scriptURL = URL(fileURLWithPath: script)
            let dialogue = try DialogueScript.load(scriptURL)
            let bakeProject = try project.map { try BakeProject.load(URL(fileURLWithPath: $0)) } ?? BakeProject()
            let presetsDirectory = try presetOptions.directory()
            let outputFolder = try OutputFolder(URL(fileURLWithPath: output))
            let baker = PipelineBaker(
                project: bakeProject, presetsDirectory: presetsDirectory, generator: "EmoBake \(EmoBake.version)")
            let cores = ProcessInfo.processInfo.activeProcessorCount
            let jobCount = jobs ?? cores
            // Lines run in parallel; each line's model then gets its share of the cores, so
            // -j 2 on 2 cores runs two single-threaded models instead of four threads.
            RuntimeThreads.configure(max(1, cores / jobCount))
            let options = BakeOptions(
                jobs: jobCount, force: force, failFast: failFast, shard: shard,
                toolVersion: EmoBake.version)
            let runner = BatchRunner(script: dialogue, project: bakeProject, output: outputFolder, baker: baker, options: options)
            let events: any BakeEventSink = json ? JSONEventPrinter() : ConsoleEventPrinter(quiet: quiet)
            let summary = try runner.run(events: events)
            if summary.failedCount > 0 { throw ExitCode(1) }
        } catch let error as any EmoBakeError {
            printError(error.message)
            throw ExitCode(1)
        }
    }
}
