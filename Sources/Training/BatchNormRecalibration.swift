import Foundation
import Neural
import Recognition

/// Re-estimates the batch-norm running statistics on clean (unaugmented) training clips
/// ("precise BN").
///
/// During training, batch norm normalises with the statistics of augmented batches (noise,
/// and masks that zero a quarter of the mel bins), and its running statistics follow those.
/// Clean audio at inference time has larger variance, so with those statistics every layer
/// amplifies a little, the errors compound through seven layers, and the classifier sees
/// shifted features: measured after 5 epochs, validation accuracy was 0.20 (every clip
/// "neutral") with the running statistics and 0.475 after recalibrating on 192 clean clips.
/// Here each layer's mean and variance become the average of the batch statistics over
/// clean batches (momentum 1/b for batch b), as PyTorch's BN recalibration does.
public enum BatchNormRecalibration {
    /// - clips: indices into `maker.bank`; batches of `batchSize` clips of similar length, cropped
    ///   as in training (a fixed seed picks the crops, so the result is deterministic).
    public static func run(network: CompactNetwork, maker: BatchMaker, clips: [Int], batchSize: Int, workspace: AutogradWorkspace) {
        guard !clips.isEmpty else { return }
        let ordered = clips.sorted { a, b in
            let (la, lb) = (maker.bank.clips[a].variants[0].frames, maker.bank.clips[b].variants[0].frames)
            return la != lb ? la < lb : a < b
        }
        let layers = Array(network.layers.joined())
        let saved = layers.map(\.statistics.momentum)
        var random = SeededRandom(seed: 0x0BA7_C4_0512)
        var count = 0
        var start = 0
        while start < ordered.count {
            count += 1
            for layer in layers { layer.statistics.momentum = 1 / Float(count) }
            let batch = maker.batch(Array(ordered[start..<min(ordered.count, start + batchSize)]), augment: false, random: &random)
            _ = network.forward(
                Tape(recording: false, training: true), features: batch.features, validFrames: batch.validFrames, workspace: workspace,
                dropoutRandom: &random)
            start += batchSize
        }
        for (layer, momentum) in zip(layers, saved) { layer.statistics.momentum = momentum }
    }
}
