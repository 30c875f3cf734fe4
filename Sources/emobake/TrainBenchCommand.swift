import ArgumentParser
import Common
import EmotionCore
import Foundation
import JSONIO
import Neural
import Recognition
import Training

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
