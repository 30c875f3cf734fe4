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

    static func tinyConfiguration(head: SequenceHead = .dirichlet, temporalLayers: Int = 2, windowPoolFrames: Int = 1) -> SequenceModelConfiguration {
        SequenceModelConfiguration(
            backbone: tinyBackbone(), head: head, timePooledBlocks: windowPoolFrames > 1 ? 3 : 2, temporalLayers: temporalLayers, temporalKernel: 3,
            windowPoolFrames: windowPoolFrames, normalisationFrames: windowPoolFrames > 1 ? 41 : 0)
    }

    static func tinyModel(seed: UInt64 = 3, head: SequenceHead = .dirichlet, windowPoolFrames: Int = 1) -> SequenceModel {
        var random = SeededRandom(seed: seed)
        let network = SequenceNetwork(configuration: tinyConfiguration(head: head, windowPoolFrames: windowPoolFrames), random: &random)
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

    @Test(arguments: [(0.2, 1), (0.52, 1), (1.0, 1), (0.3, 5), (0.85, 5)])
    func chunkedInferenceHasNoSeams(chunkSeconds: Double, windowPoolFrames: Int) throws {
        let model = Self.tinyModel(windowPoolFrames: windowPoolFrames)
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

    @Test func aPooledModelHasEighthSecondFramesAndAWiderReach() throws {
        let model = Self.tinyModel(windowPoolFrames: 5)
        let configuration = model.configuration
        // Three pooled blocks: 8 log-mel frames (80 ms) per output frame, 12.5 per second.
        #expect(configuration.timeReduction == 8 && abs(configuration.frameRate - 12.5) < 1e-12)
        #expect(abs(configuration.time(ofFrame: 2) - 0.195) < 1e-12)
        // Convs at strides 1, 2, 4 (7) and pools (0.5 + 1 + 2), the mean's half width (2) and two
        // k=3 temporal convs (2) at stride 8, the normalisation's half window (20), rounded up, + one stride.
        #expect(configuration.receptiveHalfWidth == 63 + 8)
        let track = try SequencePredictor().predict(AudioBuffer(samples: Self.signal(seconds: 2.0), sampleRate: 16_000), model: model, source: "x.wav")
        #expect(track.frameCount == 25 && track.alpha.allSatisfy { $0 > 0 && $0.isFinite })
        // One second of a window is 6.25 frames of 160 ms at the default layout: rounded to an odd 7 (1.12 s).
        var backbone = CompactModelConfiguration(emotions: Self.emotions)
        backbone.features = LogMelSettings()
        #expect(SequenceModelConfiguration.windowPoolFrames(seconds: 1.0, backbone: backbone) == 7)
        #expect(SequenceModelConfiguration.windowPoolFrames(seconds: 1.4, backbone: backbone) == 9)
        #expect(SequenceModelConfiguration.windowPoolFrames(seconds: 0.05, backbone: backbone) == 1)
    }

    @Test func localNormalisationUsesTheWindowAroundEachFrame() throws {
        let model = Self.tinyModel(windowPoolFrames: 5)  // 41-frame windows
        let mels = 16, frames = 100
        let floor = Float(model.configuration.backbone.features.logFloor)
        var power = (0..<(frames * mels)).map { Float(1 + sin(Double($0) * 0.13) * 0.9) }
        let features = model.normalisedFeatures(power: power, frames: frames, statistics: .init(melBins: mels))
        for (t, m) in [(0, 0), (20, 3), (50, 15), (99, 7)] {
            let window = max(0, t - 20)..<min(frames, t + 21)
            let values = window.map { Double(log(power[$0 * mels + m] + floor)) }
            let mean = values.reduce(0, +) / Double(values.count)
            let deviation = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count)).squareRoot()
            let expected = (Double(log(power[t * mels + m] + floor)) - mean) / (deviation + 1e-5)
            #expect(abs(Double(features[m * frames + t]) - expected) < 1e-4, "frame \(t) bin \(m)")
        }
        // Louder audio far away does not change a frame (it would with whole-clip statistics).
        for t in 80..<frames { for m in 0..<mels { power[t * mels + m] *= 50 } }
        let changed = model.normalisedFeatures(power: power, frames: frames, statistics: .init(melBins: mels))
        #expect((0..<mels).allSatisfy { m in (0...39).allSatisfy { changed[m * frames + $0] == features[m * frames + $0] } })
        #expect(changed[60] != features[60])
    }

    @Test func aPooledStartIsStageOneOverEachWindow() throws {
        // Every block pools time and the mean covers the whole input: each output frame is
        // Stage 1's classifier on the mean of the last block's features, i.e. Stage 1 itself.
        var random = SeededRandom(seed: 5)
        let stageOne = CompactNetwork(configuration: Self.tinyBackbone(), random: &random)
        for parameter in stageOne.parameters { parameter.variable.value = parameter.variable.value.map { $0 + 0.05 } }
        let frames = 64  // 8 output frames
        let sequence = try SequenceNetwork(configuration: Self.tinyConfiguration(temporalLayers: 2, windowPoolFrames: 15), stageOne: stageOne)
        let features = Variable(shape: [1, 1, 16, frames], value: (0..<(16 * frames)).map { Float(sin(Double($0) * 0.37) + 0.3 * cos(Double($0) * 0.011)) })
        let outputs = sequence.forward(Tape.inference(), features: features, workspace: AutogradWorkspace()).value
        var dropout = SeededRandom(seed: 0)
        let expected = stageOne.forward(Tape.inference(), features: features, validFrames: [frames], workspace: AutogradWorkspace(), dropoutRandom: &dropout).value
        #expect(outputs.count == 8 * 4)
        for frame in 0..<8 {
            for k in 0..<4 { #expect(abs(outputs[frame * 4 + k] - expected[k]) < 1e-5, "frame \(frame) emotion \(k)") }
        }
        // With a narrower mean the frames differ (each sees its own window).
        let narrow = try SequenceNetwork(configuration: Self.tinyConfiguration(temporalLayers: 2, windowPoolFrames: 3), stageOne: stageOne)
        let local = narrow.forward(Tape.inference(), features: features, workspace: AutogradWorkspace()).value
        #expect(Set(local.map { ($0 * 1e4).rounded() }).count > 8)
    }

    @Test(arguments: [1, 5])
    func aFileStreamedInSmallBlocksGivesTheSameTrack(windowPoolFrames: Int) throws {
        let model = Self.tinyModel(windowPoolFrames: windowPoolFrames)
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

    @Test(arguments: [1, 5])
    func shortClipsGiveOneFrame(windowPoolFrames: Int) throws {
        let model = Self.tinyModel(windowPoolFrames: windowPoolFrames)
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

    @Test(arguments: [(SequenceHead.dirichlet, 1), (.softmax(concentration: 12), 1), (.dirichlet, 3)])
    func writeThenLoadGivesTheSameTrack(head: SequenceHead, windowPoolFrames: Int) throws {
        let model = Self.tinyModel(head: head, windowPoolFrames: windowPoolFrames)
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

    @Test func movingMeanAveragesTheFramesThatExistAndItsGradientFollows() {
        var random = SeededRandom(seed: 9)
        let x = Variable(shape: [2, 1, 6], value: (0..<12).map { _ in Float(random.normal()) }, requiresGradient: true)
        let tape = Tape()
        let y = tape.movingMean(x, width: 5)
        let v = x.value
        // Row 0: frame 0 averages frames 0-2, frame 2 frames 0-4, frame 5 frames 3-5.
        #expect(abs(y.value[0] - (v[0] + v[1] + v[2]) / 3) < 1e-6)
        #expect(abs(y.value[2] - (v[0] + v[1] + v[2] + v[3] + v[4]) / 5) < 1e-6)
        #expect(abs(y.value[11] - (v[9] + v[10] + v[11]) / 3) < 1e-6)
        let seed = (0..<12).map { _ in Float(random.normal()) }
        tape.backward(from: y, seed: seed)
        // Finite differences (y is linear in x, so a step of 1 is exact up to rounding).
        for index in [0, 3, 7, 11] {
            var bumped = x.value
            bumped[index] += 1
            let z = Tape.inference().movingMean(Variable(shape: x.shape, value: bumped), width: 5).value
            let numeric = zip(zip(z, y.value), seed).reduce(Float(0)) { $0 + ($1.0.0 - $1.0.1) * $1.1 }
            #expect(abs(x.gradient[index] - numeric) < 1e-4, "index \(index)")
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
