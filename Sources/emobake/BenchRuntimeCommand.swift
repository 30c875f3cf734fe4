import ArgumentParser
import Common
import Foundation
import JSONIO
import Neural
import Recognition

#if canImport(Glibc)
import Glibc
#endif

/// `emobake bench-runtime`: times the wav2vec2 backbone on random clips (used by
/// scripts/bench_runtime, which runs PyTorch and ONNX Runtime beside it).
struct BenchRuntimeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-runtime",
        abstract: "Benchmark the neural runtime: wav2vec2 backbone time per second of audio and peak memory.",
        discussion: """
            Runs the backbone of a wav2vec2 model folder on random clips of each length (batch 1), after one warm-up run, and prints the median and fastest time, milliseconds per second of audio, and the process's peak resident memory. scripts/bench_runtime runs this beside PyTorch and ONNX Runtime on the same weights.

            Examples:
              emobake bench-runtime --model /tmp/emobake-bench/model --seconds 1 --seconds 10 --repeat 5 --json
              emobake bench-runtime --model /tmp/emobake-bench/model --seconds 30 --stages    # where the time goes
              emobake bench-runtime --model /tmp/emobake-bench/model --compare-amx --repeat 9    # AMX against AVX-512, paired
              emobake bench-runtime --model /tmp/emobake-bench/model --seconds 10 --repeat 1 --dc-offset 0.3 --save-outputs /tmp/check
                  # clip and last hidden state in /tmp/check/10s.safetensors, for scripts/check_runtime_numerics.py
            """)

    @Option(help: ArgumentHelp("wav2vec2 model folder.", valueName: "dir"))
    var model: String

    @Option(help: ArgumentHelp("Clip length in seconds (repeat the option for several).", valueName: "seconds"))
    var seconds: [Double] = [1, 5, 10, 30]

    @Option(name: .customLong("repeat"), help: "Timed runs per length.")
    var runs: Int = 5

    @Option(name: [.short, .customLong("jobs")], help: "Threads (OpenBLAS and kernels).")
    var jobs: Int = 2

    @Option(help: "Who threads the matrix products: kernels (EmoBake splits them, OpenBLAS on one thread; the default) or openblas (OpenBLAS's own threads).")
    var threading: Threading = .kernels

    enum Threading: String, ExpressibleByArgument { case kernels, openblas }

    @Flag(help: "One JSON object per length on stdout.")
    var json = false

    @Flag(help: "Also time each stage of the forward pass (feature encoder, projection and positional convolution, the transformer's products, attention, the rest) and print the medians in ms per second of audio.")
    var stages = false

    @Option(help: ArgumentHelp("Added to every sample of the random clips (the first layer's normalisation then has a mean to remove).", valueName: "value"))
    var dcOffset: Double = 0

    @Option(help: ArgumentHelp("Also write each length's clip and last hidden state (of the warm-up run) to this folder, as <seconds>s.safetensors with the float32 tensors input (samples) and last_hidden_state (frames, hidden size).", valueName: "dir"))
    var saveOutputs: String?

    @Flag(help: "Time every run twice, on the AVX-512 kernel alone and with AMX (where the CPU has it; EMOBAKE_AMX=1 turns it on elsewhere), back to back, and print both medians and the median of the paired ratios: a comparison that the host's changing load does not skew.")
    var compareAmx = false

    func validate() throws {
        if compareAmx && !PackedLinear.amxAvailable {
            throw ValidationError("--compare-amx: AMX cannot run here (the CPU has no AMX-BF16, or the AVX-512 kernel is off)")
        }
        guard dcOffset.isFinite && abs(dcOffset) <= 1 else { throw ValidationError("--dc-offset must be between -1 and 1") }
        guard runs >= 1 else { throw ValidationError("--repeat must be at least 1") }
        guard jobs >= 1 else { throw ValidationError("--jobs must be at least 1") }
        guard seconds.allSatisfy({ $0 > 0 && $0.isFinite }) else { throw ValidationError("--seconds must be positive") }
    }

    func run() throws {
        do {
            switch threading {
            case .kernels: RuntimeThreads.configure(jobs)
            case .openblas:
                setBLASThreads(jobs)
                KernelThreads.count = jobs
            }
            let loadStart = Date()
            let backbone = try ModelLoader.loadWav2Vec2Backbone(directory: URL(fileURLWithPath: model))
            backbone.timesStages = stages
            if compareAmx { PackedLinear.amxEnabled = true }  // the warm-up and the timed runs use AMX
            let loadSeconds = Date().timeIntervalSince(loadStart)
            var generator = SeededRandom(seed: 1)  // every run times the same input
            for length in seconds {
                let samples = (0..<Int(length * 16_000)).map { _ in Float.random(in: -0.5...0.5, using: &generator) + Float(dcOffset) }
                let hidden = try backbone.lastHiddenState(samples)  // warm-up: workspace, page faults
                if let saveOutputs {
                    let file = URL(fileURLWithPath: saveOutputs).appendingPathComponent(DecimalFormat.trimmed(length, 3) + "s.safetensors")
                    try SafetensorsWriter.write(["input": Tensor(shape: [samples.count], data: samples), "last_hidden_state": hidden], to: file)
                }
                var times: [Double] = []
                var processorTimes: [Double] = []
                var stageRuns: [Wav2Vec2Backbone.StageTimes] = []
                var withoutAMX: [Double] = []
                var withoutAMXStages: [Wav2Vec2Backbone.StageTimes] = []
                // With --compare-amx each run has a partner without AMX, run just before it (odd runs:
                // just after), so that each pair shares the host's load of that moment.
                func timeWithoutAMX() throws {
                    PackedLinear.amxEnabled = false
                    defer { PackedLinear.amxEnabled = true }
                    let start = DispatchTime.now().uptimeNanoseconds
                    _ = try backbone.lastHiddenState(samples)
                    withoutAMX.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
                    withoutAMXStages.append(backbone.lastStageTimes)
                }
                for run in 0..<runs {
                    if compareAmx && run % 2 == 0 { try timeWithoutAMX() }
                    let processorStart = Self.processorMilliseconds()
                    let start = DispatchTime.now().uptimeNanoseconds
                    _ = try backbone.lastHiddenState(samples)
                    times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
                    processorTimes.append(Self.processorMilliseconds() - processorStart)
                    stageRuns.append(backbone.lastStageTimes)
                    if compareAmx && run % 2 == 1 { try timeWithoutAMX() }
                }
                // Each stage's median over the runs, in ms per second of audio.
                func medians(_ runs: [Wav2Vec2Backbone.StageTimes]) -> [(key: String, label: String, value: Double)] {
                    [
                        ("feature_encoder", "feature encoder", { $0.featureEncoder }),
                        ("projection_positional", "projection and positional convolution", { $0.positional }),
                        ("transformer_products", "transformer products", { $0.products }), ("attention", "attention", { $0.attention }),
                        ("transformer_rest", "norms and sums", { $0.transformer - $0.products - $0.attention }),
                    ].map { (key, label, value: (Wav2Vec2Backbone.StageTimes) -> Double) in
                        let sorted = runs.map(value).sorted()
                        return (key, label, sorted[sorted.count / 2] * 1000 / length)
                    }
                }
                let stageFigures = medians(stageRuns)
                // Each run with AMX over its partner without.
                let ratios = zip(times, withoutAMX).map { $0 / $1 }.sorted()
                times.sort()
                processorTimes.sort()
                withoutAMX.sort()
                let processorMedian = processorTimes[processorTimes.count / 2]
                let median = times[times.count / 2]
                let rss = Self.peakResidentMegabytes()
                if json {
                    let object: JSONValue = .object(
                        JSONObject([
                            ("engine", "emobake"), ("seconds", .decimal(length, places: 3)), ("median_ms", .decimal(median, places: 2)),
                            ("min_ms", .decimal(times[0], places: 2)), ("ms_per_audio_second", .decimal(median / length, places: 2)),
                            ("cpu_ms", .decimal(processorMedian, places: 1)), ("peak_rss_mb", .decimal(rss, places: 1)), ("load_s", .decimal(loadSeconds, places: 2)),
                            ("threads", .integer(Int64(jobs))), ("threading", .string(threading.rawValue)),
                            ("blas_core", .string(BLASCore.name)),
                        ] + (stages ? [("stages_ms_per_audio_second", .object(JSONObject(stageFigures.map { ($0.key, .decimal($0.value, places: 2)) })))] : [])
                            + (compareAmx
                                ? [
                                    ("without_amx_median_ms", .decimal(withoutAMX[withoutAMX.count / 2], places: 2)),
                                    ("amx_ratio_median", .decimal(ratios[ratios.count / 2], places: 3)),
                                ] : [])))
                    print(try JSONCodec.serialize(object, style: .compact), terminator: "")
                } else {
                    print(
                        "\(DecimalFormat.fixed(length, 1)) s: median \(DecimalFormat.fixed(median, 1)) ms, min \(DecimalFormat.fixed(times[0], 1)) ms, \(DecimalFormat.fixed(median / length, 1)) ms per second of audio, CPU \(DecimalFormat.fixed(processorMedian, 0)) ms, peak RSS \(DecimalFormat.fixed(rss, 0)) MB"
                    )
                    if compareAmx {
                        let ratioText = ratios.map { DecimalFormat.fixed($0, 2) }.joined(separator: " ")
                        print(
                            "  without AMX: median \(DecimalFormat.fixed(withoutAMX[withoutAMX.count / 2], 1)) ms, \(DecimalFormat.fixed(withoutAMX[withoutAMX.count / 2] / length, 1)) ms per second of audio; with AMX / without, run by run: \(ratioText) (median \(DecimalFormat.fixed(ratios[ratios.count / 2], 2)))"
                        )
                    }
                    if stages {
                        let parts = stageFigures.map { "\($0.label) \(DecimalFormat.fixed($0.value, 1))" }
                        print("  stages, ms per second of audio (medians): " + parts.joined(separator: ", "))
                        if compareAmx {
                            let without = medians(withoutAMXStages).map { "\($0.label) \(DecimalFormat.fixed($0.value, 1))" }
                            print("  stages without AMX: " + without.joined(separator: ", "))
                        }
                    }
                }
            }
        } catch {
            printError(oneLineMessage(error))
            throw ExitCode(1)
        }
    }

    /// User + system processor time of this process so far, all threads.
    static func processorMilliseconds() -> Double {
        var usage = rusage()
        getrusage(Int32(RUSAGE_SELF.rawValue), &usage)
        let user = Double(usage.ru_utime.tv_sec) * 1000 + Double(usage.ru_utime.tv_usec) / 1000
        let system = Double(usage.ru_stime.tv_sec) * 1000 + Double(usage.ru_stime.tv_usec) / 1000
        return user + system
    }

    /// Peak resident set size of this process so far (getrusage; kilobytes on Linux).
    static func peakResidentMegabytes() -> Double {
        var usage = rusage()
        getrusage(Int32(RUSAGE_SELF.rawValue), &usage)
        #if os(macOS)
        return Double(usage.ru_maxrss) / 1_048_576
        #else
        return Double(usage.ru_maxrss) / 1024
        #endif
    }
}
