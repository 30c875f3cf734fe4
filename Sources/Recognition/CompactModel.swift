import Common
import Foundation
import JSONIO
import Neural

/// EmoBake's compact emotion model (log-mel + CNN, `"model_type": "emobake-compact"`): a
/// clip or window of 16 kHz audio in, Dirichlet parameters over the configured emotions out.
///
/// `alpha(for:)` applies the same preprocessing as training (silence trim, log-mel, per-clip
/// normalisation), so a whole clip scores exactly as `emobake eval` scored it. Safe to call
/// from several threads: each call takes its own scratch workspace from a small pool.
public final class CompactModel: EmotionModel, @unchecked Sendable {
    public let configuration: CompactModelConfiguration
    public let network: CompactNetwork
    public let extractor: LogMelExtractor
    public let identifier: String
    private var workspaces: [AutogradWorkspace] = []
    private let lock = NSLock()

    public var emotions: [String] { configuration.emotions }
    public var sampleRate: Int { configuration.features.sampleRate }
    /// 2 s: trained on whole utterances and 3 s crops, the compact model needs 2 s of speech or
    /// more (1 s windows cut the previous default's unweighted accuracy from 0.634 to 0.336,
    /// and 2 s windows scored best on synthetic dialogues, BENCHMARKS.md).
    public var preferredWindow: Double? { 2 }

    public init(network: CompactNetwork, identifier: String = "emobake-compact-v1") {
        self.configuration = network.configuration
        self.network = network
        self.extractor = LogMelExtractor(settings: network.configuration.features)
        self.identifier = identifier
    }

    public static let configurationFile = "config.json"
    public static let weightsFile = "model.safetensors"

    /// Loads config.json and model.safetensors from a model directory.
    public static func load(directory: URL) throws -> CompactModel {
        let configURL = directory.appendingPathComponent(configurationFile)
        let configuration = try CompactModelConfiguration(json: try JSONCodec.parse(contentsOf: configURL), source: configURL.path)
        let weightsURL = directory.appendingPathComponent(weightsFile)
        guard FileManager.default.fileExists(atPath: weightsURL.path) else {
            throw RecognitionError("model.missingWeights", "\(weightsURL.path): no such file (a compact model needs config.json and model.safetensors)")
        }
        let file = try SafetensorsFile(url: weightsURL)
        var random = SeededRandom(seed: 0)
        let network = CompactNetwork(configuration: configuration, random: &random)
        do {
            try network.load { name, shape in try file.tensor(name, shape: shape) }
        } catch let error as RecognitionError {
            throw RecognitionError(error.code, "\(weightsURL.path): \(error.message)")
        }
        let tag = file.metadata["identifier"] ?? "emobake-compact-v1"
        return CompactModel(network: network, identifier: tag)
    }

    /// Writes config.json and model.safetensors (atomically, each) into `directory`.
    public func write(to directory: URL, metadata: [String: String] = [:]) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var tags = metadata
        tags["identifier"] = identifier
        tags["format"] = "pt"
        try SafetensorsWriter.write(network.stateTensors, metadata: tags, to: directory.appendingPathComponent(Self.weightsFile))
        try AtomicFile.write(
            try JSONCodec.serialize(configuration.json), to: directory.appendingPathComponent(Self.configurationFile))
    }

    /// Normalised log-mel features of a clip: mels x frames, at least 2^blocks frames (the
    /// rest zero-padded) and the number of real frames.
    public func features(_ samples: ArraySlice<Float>) -> (values: [Float], frames: Int, validFrames: Int) {
        let (frames, values) = extractor.features(samples)
        let minimum = configuration.timeReduction
        guard frames < minimum else { return (values, frames, frames) }
        let mels = configuration.features.melBins
        var padded = [Float](repeating: 0, count: mels * minimum)
        for m in 0..<mels { for t in 0..<frames { padded[m * minimum + t] = values[m * frames + t] } }
        return (padded, minimum, frames)
    }

    /// Raw outputs x (K values) for one clip's features.
    public func outputs(features values: [Float], frames: Int, validFrames: Int) -> [Float] {
        let workspace = takeWorkspace()
        defer { returnWorkspace(workspace) }
        let input = Variable(shape: [1, 1, configuration.features.melBins, frames], value: values)
        var unused = SeededRandom(seed: 0)
        return network.forward(Tape.inference(), features: input, validFrames: [validFrames], workspace: workspace, dropoutRandom: &unused).value
    }

    public func alpha(for samples: ArraySlice<Float>) throws -> [Double] {
        guard !samples.isEmpty else { throw RecognitionError("model.emptyWindow", "\(identifier): cannot score an empty window") }
        guard samples.allSatisfy({ $0.isFinite }) else {
            throw RecognitionError("model.nonFinite", "\(identifier): the audio window holds NaN or infinite samples")
        }
        let (values, frames, valid) = features(samples)
        let x = outputs(features: values, frames: frames, validFrames: valid)
        return network.alpha(fromOutputs: x[...])
    }

    private func takeWorkspace() -> AutogradWorkspace {
        lock.lock()
        defer { lock.unlock() }
        return workspaces.popLast() ?? AutogradWorkspace()
    }

    private func returnWorkspace(_ workspace: AutogradWorkspace) {
        lock.lock()
        workspaces.append(workspace)
        lock.unlock()
    }
}
