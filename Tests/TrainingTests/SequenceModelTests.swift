import AudioIO
import EmotionCore
import Foundation
import Neural
import Recognition
import TestSupport
import Testing
import Training

/// The Stage 2 sequence model: its shapes and frame times, the start from a Stage 1 model,
/// seamless chunked inference over long audio, and file round trips. A tiny configuration
/// keeps every test to a fraction of a second.
@Suite struct SequenceModelTests {
    static let emotions = ["neutral", "happy", "sad", "angry"]

    static func tinyBackbone(head: CompactModelConfiguration.Head = .dirichlet) -> CompactModelConfiguration {
        var features = LogMelSettings()
        features.melBins = 16
        features.trimDecibels = 0
        return CompactModelConfiguration(emotions: emotions, head: head, channels: [4, 6, 8], convolutionsPerBlock: [1, 1, 1], features: features)
    }

    static func tinyConfiguration(head: SequenceHead = .dirichlet, temporalLayers: Int = 2) -> SequenceModelConfiguration {
        SequenceModelConfiguration(backbone: tinyBackbone(), head: head, timePooledBlocks: 2, temporalLayers: temporalLayers, temporalKernel: 3)
    }

    static func tinyModel(seed: UInt64 = 3, head: SequenceHead = .dirichlet) -> SequenceModel {
        var random = SeededRandom(seed: seed)
        let network = SequenceNetwork(configuration: tinyConfiguration(head: head), random: &random)
        // Random temporal projections (not the identity start), so chunking is tested through them.
        for parameter in network.parameters where parameter.name.contains("projection.weight") {
            parameter.variable.value = parameter.variable.value.map { $0 * 30 }
        }
        return SequenceModel(network: network, identifier: "tiny-sequence")
    }

    /// Tones that change pitch and loudness every 0.7 s, with a little deterministic noise.
    static func signal(seconds: Double) -> [Float] {
        let count = Int(seconds * 16_000)
        return (0..<count).map { n in
            let t = Double(n) / 16_000
            let part = Int(t / 0.7)
            let frequency = [220.0, 330, 550, 180, 440][part % 5]
            let level = [0.3, 0.1, 0.5, 0.02, 0.25][part % 5]
            return Float(level * sin(2 * Double.pi * frequency * t) + 0.003 * Double((n * 7919) % 97 - 48) / 48)
        }
    }

    @Test func framesAreTwentyFivePerSecondAndTimesAreCentred() throws {
        let model = Self.tinyModel()
        let configuration = model.configuration
        #expect(configuration.timeReduction == 4 && abs(configuration.frameRate - 25) < 1e-12)
        #expect(abs(configuration.time(ofFrame: 0) - 0.015) < 1e-12 && abs(configuration.time(ofFrame: 10) - 0.415) < 1e-12)
        // 3x3 convs at strides 1, 2, 4 (1 + 2 + 4), pools (0.5 + 1), two k=3 temporal convs at stride 4 (8), + one stride.
        #expect(configuration.receptiveHalfWidth == 1 + 2 + 4 + 2 + 8 + 4)
        let track = try SequencePredictor().predict(AudioBuffer(samples: Self.signal(seconds: 2.0), sampleRate: 16_000), model: model, source: "x.wav")
        // 2 s = 32000 samples: 201 log-mel frames, 50 output frames.
        #expect(track.frameCount == 50)
        #expect(track.times.first == 0.015 && abs(track.times.last! - 1.975) < 1e-9)
        #expect(track.alpha.allSatisfy { $0 > 0 && $0.isFinite })
        #expect(track.emotions == Self.emotions && track.model == "tiny-sequence" && track.source == "x.wav")
    }

    @Test(arguments: [0.2, 0.52, 1.0])
    func chunkedInferenceHasNoSeams(chunkSeconds: Double) throws {
        let model = Self.tinyModel()
        let audio = AudioBuffer(samples: Self.signal(seconds: 4.37), sampleRate: 16_000)
        let whole = try SequencePredictor(chunkSeconds: 1000).predict(audio, model: model, source: "a")
        let chunked = try SequencePredictor(chunkSeconds: chunkSeconds).predict(audio, model: model, source: "a")
        #expect(chunked.times == whole.times)
        var worst = 0.0
        for (a, b) in zip(chunked.alpha, whole.alpha) { worst = max(worst, abs(a - b) / max(1, abs(b))) }
        #expect(worst < 1e-4, "largest relative difference \(worst)")
        // The outputs really change over time (a constant would hide seams).
        let mixtures = whole.mixtures
        #expect(Set(mixtures.map { ($0 * 1000).rounded() }).count > 20)
    }

    @Test func aFileStreamedInSmallBlocksGivesTheSameTrack() throws {
        let model = Self.tinyModel()
        let samples = Self.signal(seconds: 3.1)
        let folder = TestPaths.temporaryDirectory("sequence-stream")
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("long.wav")
        try SyntheticDialogue.wavData(AudioBuffer(samples: samples, sampleRate: 16_000)).write(to: url)
        let decoded = try AudioDecoder.read(url)
        let whole = try SequencePredictor(chunkSeconds: 1000).predict(decoded, model: model, source: "long.wav")
        let streamed = try SequencePredictor(chunkSeconds: 0.6).predict(url: url, model: model, source: "long.wav")
        #expect(streamed.times == whole.times)
        #expect(zip(streamed.alpha, whole.alpha).allSatisfy { abs($0 - $1) <= 1e-4 * max(1, abs($1)) })
    }

    @Test func shortClipsGiveOneFrame() throws {
        let model = Self.tinyModel()
        let track = try SequencePredictor().predict(AudioBuffer(samples: Self.signal(seconds: 0.02), sampleRate: 16_000), model: model, source: "s")
        #expect(track.frameCount == 1)
        #expect(throws: RecognitionError.self) {
            _ = try SequencePredictor().predict(AudioBuffer(samples: [], sampleRate: 16_000), model: model, source: "empty.wav")
        }
        #expect(throws: RecognitionError.self) {
            _ = try SequencePredictor().predict(AudioBuffer(samples: [0, 0], sampleRate: 8_000), model: model, source: "rate.wav")
        }
    }

    @Test func startsAsStageOneAppliedToEachFrame() throws {
        // A Stage 1 network, then the sequence network built from it: with zero projections the
        // temporal blocks are the identity, so it equals the same backbone with no temporal blocks.
        var random = SeededRandom(seed: 5)
        let stageOne = CompactNetwork(configuration: Self.tinyBackbone(), random: &random)
        for parameter in stageOne.parameters { parameter.variable.value = parameter.variable.value.map { $0 + 0.05 } }
        let sequence = try SequenceNetwork(configuration: Self.tinyConfiguration(temporalLayers: 2), stageOne: stageOne)
        let plain = try SequenceNetwork(configuration: Self.tinyConfiguration(temporalLayers: 0), stageOne: stageOne)
        #expect(sequence.headWeight.value == stageOne.classifierWeight.value)
        let features = Variable(shape: [1, 1, 16, 64], value: (0..<(16 * 64)).map { Float(sin(Double($0) * 0.37)) })
        let a = sequence.forward(Tape.inference(), features: features, workspace: AutogradWorkspace()).value
        let b = plain.forward(Tape.inference(), features: features, workspace: AutogradWorkspace()).value
        #expect(a.count == 16 * 4 && a == b)
        // A mismatched Stage 1 model is refused.
        var other = Self.tinyBackbone()
        other.channels = [4, 6, 10]
        var random2 = SeededRandom(seed: 1)
        #expect(throws: RecognitionError.self) {
            _ = try SequenceNetwork(configuration: Self.tinyConfiguration(), stageOne: CompactNetwork(configuration: other, random: &random2))
        }
    }

    @Test(arguments: [SequenceHead.dirichlet, .softmax(concentration: 12)])
    func writeThenLoadGivesTheSameTrack(head: SequenceHead) throws {
        let model = Self.tinyModel(head: head)
        let folder = TestPaths.temporaryDirectory("sequence-model")
        defer { try? FileManager.default.removeItem(at: folder) }
        try model.write(to: folder)
        #expect(SequenceModel.isSequenceModel(folder))
        let loaded = try SequenceModel.load(directory: folder)
        #expect(loaded.configuration == model.configuration && loaded.identifier == "tiny-sequence")
        let audio = AudioBuffer(samples: Self.signal(seconds: 1.5), sampleRate: 16_000)
        #expect(try SequencePredictor().predict(audio, model: loaded, source: "a") == SequencePredictor().predict(audio, model: model, source: "a"))
        let second = TestPaths.temporaryDirectory("sequence-model2")
        defer { try? FileManager.default.removeItem(at: second) }
        try loaded.write(to: second)
        for file in ["config.json", "model.safetensors"] {
            #expect(try Data(contentsOf: folder.appendingPathComponent(file)) == Data(contentsOf: second.appendingPathComponent(file)))
        }
        // A config with a bad field names the file and the field.
        let config = folder.appendingPathComponent("config.json")
        let text = try String(contentsOf: config, encoding: .utf8).replacingOccurrences(of: "\"temporal_kernel\": 3", with: "\"temporal_kernel\": 4")
        try text.write(to: config, atomically: true, encoding: .utf8)
        do {
            _ = try SequenceModel.load(directory: folder)
            Issue.record("loaded an even temporal kernel")
        } catch {
            #expect("\(error)".contains("config.json: temporal_kernel: expected an odd number"))
        }
    }

    @Test func meanOverHeightGradientMatchesFiniteDifferences() {
        var random = SeededRandom(seed: 8)
        let x = Variable(shape: [2, 3, 4, 5], value: (0..<120).map { _ in Float(random.normal()) }, requiresGradient: true)
        let seed = (0..<30).map { _ in Float(random.normal()) }
        let tape = Tape()
        let y = tape.meanOverHeight(x)
        #expect(y.shape == [2, 3, 5])
        tape.backward(from: y, seed: seed)
        for index in [0, 7, 33, 119] {
            // y is linear in x: d(sum seed * y)/dx = seed[c, n, w] / H.
            let (plane, column) = (index / 20, index % 5)
            #expect(abs(x.gradient[index] - seed[plane * 5 + column] / 4) < 1e-6)
        }
    }
}
