import ArgumentParser
import Common
import Foundation
import JSONIO
import Neural
import Recognition

/// `emobake eval speed`: times the compact model end to end (silence trim, log-mel, CNN) on
/// random clips; scripts/bench_compact_model runs PyTorch on the same weights beside it.
struct EvalSpeedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "speed",
        abstract: "Benchmark the compact emotion model's inference: milliseconds per second of audio.",
        discussion: """
            Scores random clips of each length with the model's alpha(for:) (the whole path:
            trim, log-mel, CNN, head), batch 1, after one warm-up run, and prints the median and
            fastest time, milliseconds per second of audio and CPU time.

            Example:
              emobake eval speed --model Presets/models/default --seconds 1 --seconds 10 --repeat 10 --json
            """)

    @Option(help: ArgumentHelp("Compact model folder (default: the shipped default model).", valueName: "dir"))
    var model: String?

    @Option(help: ArgumentHelp("Clip length in seconds (repeat the option for several).", valueName: "seconds"))
    var seconds: [Double] = [1, 3, 10]

    @Option(name: .customLong("repeat"), help: "Timed runs per length.")
    var runs: Int = 10

    @Option(name: [.short, .customLong("jobs")], help: "Threads.")
    var jobs: Int = 2

    @Option(help: ArgumentHelp("The Presets folder (for the default model).", valueName: "dir"))
    var presets: String?

    @Flag(help: "One JSON object per length on stdout.")
    var json = false

    func validate() throws {
        guard runs >= 1 else { throw ValidationError("--repeat must be at least 1") }
        guard (1...64).contains(jobs) else { throw ValidationError("--jobs must be 1 to 64") }
        guard seconds.allSatisfy({ $0 > 0 && $0 <= 3600 }) else { throw ValidationError("--seconds must be in (0, 3600]") }
    }

    func run() throws {
        do {
            RuntimeThreads.configure(jobs)
            let directory = try model.map { URL(fileURLWithPath: $0) }
                ?? ResourceLocator.presetsDirectory(explicit: presets).appendingPathComponent("models/default")
            let compact = try CompactModel.load(directory: directory)
            var random = SeededRandom(seed: 1)
            for length in seconds {
                // Speech-like level and no silence, so trimming keeps the whole clip.
                let samples = (0..<Int(length * 16_000)).map { _ in Float(0.1 * random.normal()) }
                _ = try compact.alpha(for: samples[...])
                var times: [Double] = [], processorTimes: [Double] = []
                for _ in 0..<runs {
                    let processorStart = BenchRuntimeCommand.processorMilliseconds()
                    let start = DispatchTime.now().uptimeNanoseconds
                    _ = try compact.alpha(for: samples[...])
                    times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
                    processorTimes.append(BenchRuntimeCommand.processorMilliseconds() - processorStart)
                }
                times.sort()
                processorTimes.sort()
                let median = times[times.count / 2], processor = processorTimes[processorTimes.count / 2]
                if json {
                    let object: JSONValue = .object(
                        JSONObject([
                            ("engine", "emobake"), ("seconds", .decimal(length, places: 3)), ("median_ms", .decimal(median, places: 3)),
                            ("min_ms", .decimal(times[0], places: 3)), ("ms_per_audio_second", .decimal(median / length, places: 3)),
                            ("min_ms_per_audio_second", .decimal(times[0] / length, places: 3)), ("cpu_ms", .decimal(processor, places: 2)),
                            ("threads", .integer(Int64(jobs))), ("blas_core", .string(BLASCore.name)),
                        ]))
                    print(try JSONCodec.serialize(object, style: .compact), terminator: "")
                } else {
                    print(
                        "\(DecimalFormat.fixed(length, 1)) s: median \(DecimalFormat.fixed(median, 2)) ms, min \(DecimalFormat.fixed(times[0], 2)) ms, "
                            + "\(DecimalFormat.fixed(median / length, 2)) ms per second of audio, CPU \(DecimalFormat.fixed(processor, 1)) ms")
                }
            }
        } catch {
            printError(oneLineMessage(error))
            throw ExitCode(1)
        }
    }
}
