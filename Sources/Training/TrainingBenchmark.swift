import Foundation
import Neural
import Recognition

/// Times training steps of the compact model on random batches (no data, no augmentation).
public enum TrainingBenchmark {
    public struct Report: Sendable {
        public var wallSecondsPerStep: Double
        public var cpuSecondsPerStep: Double
    }

    /// CPU time of this process (all threads), in seconds.
    public static func processCPUTime() -> Double {
        var usage = rusage()
        #if os(Linux)
        getrusage(RUSAGE_SELF.rawValue, &usage)
        #else
        getrusage(RUSAGE_SELF, &usage)
        #endif
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec)
            + Double(usage.ru_stime.tv_usec) / 1e6
    }

    public static func run(configuration: CompactModelConfiguration, batchSize: Int, frames: Int, steps: Int, threads: Int) -> Report {
        AutogradThreads.useForTraining(threads)
        AutogradMemory.keepFreedBuffers()
        var random = SeededRandom(seed: 3)
        let network = CompactNetwork(configuration: configuration, random: &random)
        let optimizer = AdamW(parameters: network.parameters)
        let workspace = AutogradWorkspace()
        let mels = configuration.features.melBins
        let features = Variable(shape: [1, batchSize, mels, frames], value: (0..<(batchSize * mels * frames)).map { _ in Float(random.normal()) })
        let labels = (0..<batchSize).map { $0 % configuration.emotions.count }
        let targets = labels.map { label in (0..<configuration.emotions.count).map { $0 == label ? 1.0 : 0.0 } }
        func step() {
            let tape = Tape()
            optimizer.zeroGradients()
            let outputs = network.forward(
                tape, features: features, validFrames: Array(repeating: frames, count: batchSize), workspace: workspace, dropoutRandom: &random)
            tape.backward(from: tape.crossEntropy(outputs, targets: targets))
            optimizer.clipGradients(maximum: 5)
            optimizer.update(rate: 1e-3)
        }
        step()
        let wallStart = Date(), cpuStart = processCPUTime()
        for _ in 0..<steps { step() }
        return Report(
            wallSecondsPerStep: Date().timeIntervalSince(wallStart) / Double(steps), cpuSecondsPerStep: (processCPUTime() - cpuStart) / Double(steps))
    }
}
