import Common
import Foundation
import JSONIO
import Neural

/// An EmoBake sequence model (`"model_type": "emobake-sequence"`): a whole clip in, alpha
/// for every frame out (`SequencePredictor` runs it over audio of any length).
///
/// Features: the log-mel power of the compact model (same front end as Stage 1), no silence
/// trimming (frames must keep their times), log(power + floor) normalised per mel bin with the
/// mean and standard deviation over the whole clip, x = (x - mean) / (std + 1e-5), or, when
/// `normalisationFrames` > 0, over the frames of a window centred on each frame (fewer at
/// the clip's ends), as Stage 1 normalises each window it hears.
public final class SequenceModel: @unchecked Sendable {
    public let configuration: SequenceModelConfiguration
    public let network: SequenceNetwork
    public let extractor: LogMelExtractor
    public let identifier: String
    private let workspace = AutogradWorkspace()
    private let lock = NSLock()

    public static let configurationFile = "config.json"
    public static let weightsFile = "model.safetensors"

    public var emotions: [String] { configuration.emotions }
    public var sampleRate: Int { configuration.sampleRate }

    public init(network: SequenceNetwork, identifier: String = "emobake-sequence-v1") {
        configuration = network.configuration
        self.network = network
        extractor = LogMelExtractor(settings: network.configuration.backbone.features)
        self.identifier = identifier
    }

    /// True when `directory/config.json` names a sequence model.
    public static func isSequenceModel(_ directory: URL) -> Bool {
        let url = directory.appendingPathComponent(configurationFile)
        guard let value = try? JSONCodec.parse(contentsOf: url) else { return false }
        return value["model_type"]?.stringValue == SequenceModelConfiguration.modelType
    }

    public static func load(directory: URL) throws -> SequenceModel {
        let configURL = directory.appendingPathComponent(configurationFile)
        guard FileManager.default.fileExists(atPath: configURL.path) else {
            throw RecognitionError("model.noConfig", "\(configURL.path): missing (a model folder holds config.json and model.safetensors)")
        }
        let configuration: SequenceModelConfiguration
        do {
            configuration = try SequenceModelConfiguration(json: try JSONCodec.parse(contentsOf: configURL), source: configURL.path)
        } catch let error as any EmoBakeError {
            throw RecognitionError(error.code, error.message)
        }
        let weightsURL = directory.appendingPathComponent(weightsFile)
        guard FileManager.default.fileExists(atPath: weightsURL.path) else {
            throw RecognitionError("model.missingWeights", "\(weightsURL.path): no such file (a sequence model needs config.json and model.safetensors)")
        }
        let file: SafetensorsFile
        do { file = try SafetensorsFile(url: weightsURL) } catch let error as any EmoBakeError { throw RecognitionError(error.code, error.message) }
        var random = SeededRandom(seed: 0)
        let network = SequenceNetwork(configuration: configuration, random: &random)
        do {
            try network.load { name, shape in try file.tensor(name, shape: shape) }
        } catch let error as any EmoBakeError {
            throw RecognitionError(error.code, "\(weightsURL.path): \(error.message)")
        }
        return SequenceModel(network: network, identifier: file.metadata["identifier"] ?? "emobake-sequence-v1")
    }

    /// Writes config.json and model.safetensors (each atomically).
    public func write(to directory: URL, metadata: [String: String] = [:]) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var tags = metadata
        tags["identifier"] = identifier
        tags["format"] = "pt"
        try SafetensorsWriter.write(network.stateTensors, metadata: tags, to: directory.appendingPathComponent(Self.weightsFile))
        try AtomicFile.write(try JSONCodec.serialize(configuration.json), to: directory.appendingPathComponent(Self.configurationFile))
    }

    /// Per-bin sums of log(power + floor) and of its square, to normalise a clip of any length.
    public struct FeatureStatistics: Sendable, Equatable {
        public var sum: [Double]
        public var squares: [Double]
        public var frames = 0

        public init(melBins: Int) {
            sum = [Double](repeating: 0, count: melBins)
            squares = sum
        }

        public mutating func add(power: [Float], frames count: Int, floor: Float) {
            let mels = sum.count
            for t in 0..<count {
                for m in 0..<mels {
                    let value = Double(log(power[t * mels + m] + floor))
                    sum[m] += value
                    squares[m] += value * value
                }
            }
            frames += count
        }

        /// Mean and 1 / (std + 1e-5) per bin (the biased variance, as Stage 1's features).
        public var normalisation: (mean: [Float], scale: [Float]) {
            let n = Double(max(frames, 1))
            let mean = sum.map { $0 / n }
            let scale = zip(squares, mean).map { square, m in Float(1 / ((max(0, square / n - m * m)).squareRoot() + 1e-5)) }
            return (mean.map { Float($0) }, scale)
        }
    }

    /// Normalised features, mels x frames (the network's layout), from frames x mels power.
    /// With local normalisation `statistics` is not used, and frames within half a
    /// normalisation window of `power`'s ends see only the frames `power` holds (the
    /// predictor's chunks carry enough context that the frames it keeps do not).
    public func normalisedFeatures(power: [Float], frames: Int, statistics: FeatureStatistics) -> [Float] {
        let mels = configuration.backbone.features.melBins
        let floor = Float(configuration.backbone.features.logFloor)
        if configuration.normalisationFrames > 0 { return locallyNormalised(power: power, frames: frames) }
        let (mean, scale) = statistics.normalisation
        var output = [Float](repeating: 0, count: frames * mels)
        for t in 0..<frames {
            for m in 0..<mels { output[m * frames + t] = (log(power[t * mels + m] + floor) - mean[m]) * scale[m] }
        }
        return output
    }

    func locallyNormalised(power: [Float], frames: Int) -> [Float] {
        let mels = configuration.backbone.features.melBins
        let floor = Float(configuration.backbone.features.logFloor)
        let half = configuration.normalisationFrames / 2
        var output = [Float](repeating: 0, count: frames * mels)
        var values = [Double](repeating: 0, count: frames)
        var sums = [Double](repeating: 0, count: frames + 1), squares = sums
        for m in 0..<mels {
            for t in 0..<frames {
                let value = Double(log(power[t * mels + m] + floor))
                values[t] = value
                sums[t + 1] = sums[t] + value
                squares[t + 1] = squares[t] + value * value
            }
            for t in 0..<frames {
                let from = max(0, t - half), to = min(frames, t + half + 1)
                let n = Double(to - from)
                let mean = (sums[to] - sums[from]) / n
                let variance = max(0, (squares[to] - squares[from]) / n - mean * mean)
                output[m * frames + t] = Float((values[t] - mean) / (variance.squareRoot() + 1e-5))
            }
        }
        return output
    }

    /// Raw outputs (T x K, T = frames / 2^timePooledBlocks) for one clip's normalised features.
    /// Thread-safe (one forward at a time per model).
    public func outputs(features: [Float], frames: Int) -> [Float] {
        let mels = configuration.backbone.features.melBins
        let minimum = configuration.timeReduction
        var values = features, count = frames
        if count < minimum {
            // Too short for one output frame: zero-pad to one (the padding is silence after normalisation).
            values = [Float](repeating: 0, count: mels * minimum)
            for m in 0..<mels { for t in 0..<frames { values[m * minimum + t] = features[m * frames + t] } }
            count = minimum
        }
        lock.lock()
        defer { lock.unlock() }
        let input = Variable(shape: [1, 1, mels, count], value: values)
        return network.forward(Tape.inference(), features: input, workspace: workspace).value
    }
}
