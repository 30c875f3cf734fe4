import Curves
import EmotionCore
import Foundation
import Testing
import TestSupport

@Suite("Clip builder")
struct ClipBuilderTests {
    /// The mapping formula computed directly from the preset's weights, independently of ClipBuilder.
    static func expectedWeight(rig: RigPreset, blendshape: String, mixture: [String: Double], intensity: Double) -> Double {
        var sum = 0.0
        for (emotion, share) in mixture {
            let key = rig.mappingEmotion(for: emotion) ?? emotion
            sum += share * (rig.mapping(for: key)?.weights.first { $0.blendshape == blendshape }?.weight ?? 0)
        }
        return min(max(intensity * sum, 0), 1)
    }

    static func randomMixtures(count: Int, emotions: Int, seed: UInt64) -> [[Double]] {
        var random = SeededRandom(seed: seed)
        return (0..<count).map { _ in
            let row = (0..<emotions).map { _ in random.uniform(0.01, 1) }
            let total = row.reduce(0, +)
            return row.map { $0 / total }
        }
    }

    @Test(arguments: ["arkit52", "vrm", "facs", "audio2face"], [1.0, 2.5])
    func mappingIsTheWeightedSumClamped(rigName: String, intensity: Double) throws {
        let rig = try Presets.rig(rigName)
        let mixtures = Self.randomMixtures(count: 40, emotions: Tracks.basic.count, seed: 5)
        let track = Tracks.make(emotions: Tracks.basic, times: Tracks.uniformTimes(count: 40, rate: 30), mixtures: mixtures)
        var settings = exactSettings(rig: rig)
        settings.intensity = intensity
        let dense = try ClipBuilder.denseCurves(from: track, settings: settings)
        #expect(dense.count == rig.blendshapes.count)
        for (channel, blendshape) in rig.blendshapes.enumerated() {
            #expect(dense[channel].count == 40)
            for frame in 0..<40 {
                let mixture = Dictionary(uniqueKeysWithValues: zip(Tracks.basic, mixtures[frame]))
                let expected = Self.expectedWeight(rig: rig, blendshape: blendshape, mixture: mixture, intensity: intensity)
                #expect(abs(dense[channel][frame] - expected) < 1e-12, "\(blendshape) frame \(frame)")
            }
        }
    }

    @Test func intensityScalesThenClamps() throws {
        let rig = try Presets.rig("vrm")
        let track = Tracks.make(emotions: ["neutral", "happy"], times: [0], mixtures: [[0.7, 0.3]])
        var settings = exactSettings(rig: rig)
        for (intensity, expected) in [(1.0, 0.3), (2.0, 0.6), (5.0, 1.0), (0.0, 0.0)] {
            settings.intensity = intensity
            let happy = try ClipBuilder.denseCurves(from: track, settings: settings)[0][0]
            #expect(abs(happy - expected) < 1e-12, "intensity \(intensity)")
        }
    }

    @Test func aPureHappyFrameShowsTheHappyPrototype() throws {
        let rig = try Presets.rig("arkit52")
        let track = Tracks.make(emotions: ["neutral", "happy"], times: [0, 1], mixtures: [[1e-9, 1], [1e-9, 1]])
        let clip = try ClipBuilder.makeClip(from: track, name: "happy", settings: exactSettings(rig: rig), source: "happy.json", model: nil)
        func value(_ name: String) -> Double { clip.curves.first { $0.name == name }!.value(at: 0.5, interpolation: .linear) }
        #expect(abs(value("mouthSmileLeft") - 0.8) < 1e-6)
        #expect(abs(value("cheekSquintRight") - 0.6) < 1e-6)
        #expect(value("browDownLeft") == 0)
        #expect(value("jawOpen") == 0)
        #expect(clip.channelNames == rig.blendshapes)
    }

    @Test func aliasesAndUnmappedEmotions() throws {
        let rig = try Presets.rig("arkit52")
        let aliased = Tracks.make(emotions: ["fearful", "surprised", "joy"], times: [0], mixtures: [[0.5, 0.25, 0.25]])
        let dense = try ClipBuilder.denseCurves(from: aliased, settings: exactSettings(rig: rig))
        let wide = try #require(rig.blendshapes.firstIndex(of: "eyeWideLeft"))
        #expect(abs(dense[wide][0] - (0.5 * 0.6 + 0.25 * 0.4)) < 1e-12)  // fear AU5 C + surprise AU5 B

        let unknown = Tracks.make(emotions: ["neutral", "boredom"], times: [0], mixtures: [[0.5, 0.5]])
        let error = try #require(throws: CurvesError.self) {
            try ClipBuilder.makeClip(from: unknown, name: "x", settings: exactSettings(rig: rig), source: "line7.json", model: nil)
        }
        #expect(error.code == "rig.unmappedEmotion")
        #expect(error.message.contains("arkit52.json"))
        #expect(error.message.contains("\"boredom\""))
        #expect(error.message.contains("line7.json"))
    }

    static let frameRates: [FrameRate] = [24, 25, 30, 48, 50, 60, 120].map { FrameRate(numerator: $0) }
        + [FrameRate(numerator: 30000, denominator: 1001)]

    @Test(arguments: frameRates)
    func outputFramesAreExact(frameRate: FrameRate) throws {
        let rig = try Presets.rig("arkit52")
        // 10 s at 37 fps: never aligned with the output frames.
        let times = Tracks.uniformTimes(count: 371, rate: 37)
        let mixtures = Self.randomMixtures(count: 371, emotions: Tracks.basic.count, seed: 9)
        let track = Tracks.make(emotions: Tracks.basic, times: times, mixtures: mixtures)
        var settings = ConversionSettings(rig: rig, smoothing: try Presets.smoothing("film"))
        settings.frameRate = frameRate
        let clip = try ClipBuilder.makeClip(from: track, name: "rates", settings: settings, source: "rates.json", model: "m")
        let lastFrame = Int((10.0 * Double(frameRate.numerator) / Double(frameRate.denominator) + 1e-9).rounded(.down))
        #expect(clip.duration == frameRate.time(ofFrame: lastFrame))
        #expect(clip.emotions.times.count == lastFrame + 1)
        for (n, time) in clip.emotions.times.enumerated() { #expect(time == Double(n) * Double(frameRate.denominator) / Double(frameRate.numerator)) }
        for curve in clip.curves {
            #expect(curve.keys.first?.time == 0)
            #expect(curve.keys.last?.time == clip.duration)
            for key in curve.keys {
                let frame = Int((key.time * Double(frameRate.numerator) / Double(frameRate.denominator)).rounded())
                #expect(key.time == frameRate.time(ofFrame: frame), "\(curve.name) key at \(key.time)")
            }
        }
        #expect(clip.frameRate == frameRate)
    }

    @Test func trackFramesOnTheOutputGridAreKeptExactly() throws {
        // A 30 fps track converted at 30 fps without smoothing: output frame n is track frame n.
        let rig = try Presets.rig("facs")
        let mixtures = Self.randomMixtures(count: 61, emotions: Tracks.basic.count, seed: 2)
        let track = Tracks.make(emotions: Tracks.basic, times: Tracks.uniformTimes(count: 61, rate: 30), mixtures: mixtures)
        let clip = try ClipBuilder.makeClip(from: track, name: "x", settings: exactSettings(rig: rig), source: "x", model: nil)
        let channel = try #require(rig.blendshapes.firstIndex(of: "AU12"))
        for frame in [0, 17, 60] {
            let mixture = Dictionary(uniqueKeysWithValues: zip(Tracks.basic, mixtures[frame]))
            let expected = Self.expectedWeight(rig: rig, blendshape: "AU12", mixture: mixture, intensity: 1)
            #expect(abs(clip.curves[channel].value(at: Double(frame) / 30, interpolation: .linear) - expected) < 1e-12)
        }
    }

    @Test func irregularTracksAreInterpolatedOntoTheFrames() throws {
        let rig = try Presets.rig("audio2face")
        let times = [0.0, 0.013, 0.4, 0.41, 1.0]
        let joy = [0.1, 0.9, 0.3, 0.6, 0.2]
        let track = Tracks.make(emotions: ["neutral", "happy"], times: times, mixtures: joy.map { [1 - $0, $0] })
        let dense = try ClipBuilder.denseCurves(from: track, settings: exactSettings(rig: rig))
        let channel = try #require(rig.blendshapes.firstIndex(of: "joy"))
        #expect(dense[channel].count == 31)
        for n in 0...30 {
            let t = Double(n) / 30
            let segment = times.indices.dropLast().last { times[$0] <= t }!
            let s = min(1, (t - times[segment]) / (times[segment + 1] - times[segment]))
            let expected = joy[segment] + (joy[segment + 1] - joy[segment]) * s
            #expect(abs(dense[channel][n] - expected) < 1e-12, "frame \(n)")
        }
    }

    @Test func aTrackStartingLateHoldsItsFirstValue() throws {
        let rig = try Presets.rig("audio2face")
        let track = Tracks.make(emotions: ["neutral", "happy"], times: [0.5, 1.0], mixtures: [[0.6, 0.4], [0.2, 0.8]])
        let dense = try ClipBuilder.denseCurves(from: track, settings: exactSettings(rig: rig))
        let joy = dense[rig.blendshapes.firstIndex(of: "joy")!]
        #expect(joy.count == 31)
        for n in 0...15 { #expect(abs(joy[n] - 0.4) < 1e-12) }
        #expect(abs(joy[30] - 0.8) < 1e-12)
    }

    @Test(arguments: [100.0, 20.0])
    func zeroPhaseSmoothingKeepsTheTimingOfAChange(trackRate: Double) throws {
        // Happy switches on at t = 1 s: with the film preset (zero phase) the smoothed curve passes
        // half-way at the switch, whether smoothing ran on the 100 Hz track or on the 30 fps frames.
        let rig = try Presets.rig("audio2face")
        let count = Int(2 * trackRate) + 1
        let times = Tracks.uniformTimes(count: count, rate: trackRate)
        let track = Tracks.make(emotions: ["neutral", "happy"], times: times) { t in t < 1 - 1e-9 ? [0.999, 0.001] : [0.001, 0.999] }
        var settings = exactSettings(rig: rig)
        settings.smoothing = try Presets.smoothing("film")
        let dense = try ClipBuilder.denseCurves(from: track, settings: settings)[rig.blendshapes.firstIndex(of: "joy")!]
        #expect(dense.count == 61)
        #expect(abs(dense[0] - 0.001) < 1e-6 && abs(dense[60] - 0.999) < 1e-6)
        // Between the frames either side of t = 1 the curve crosses 0.5 (linear track interpolation
        // spreads the 20 Hz step over 50 ms, centred at 0.975 s).
        #expect(dense[28] < 0.5 && dense[31] > 0.5)
        #expect(abs(dense[30] - 0.5) < 0.2)
        // A Gaussian never overshoots: the change rises monotonically.
        for (a, b) in zip(dense, dense.dropFirst()) { #expect(b >= a - 1e-12) }
    }

    @Test func smoothingOutputStaysInsideZeroToOne() throws {
        // Savitzky-Golay overshoots at sharp corners; the builder clamps after smoothing.
        let rig = try Presets.rig("audio2face")
        let times = Tracks.uniformTimes(count: 301, rate: 100)
        let track = Tracks.make(emotions: ["neutral", "happy"], times: times) { t in
            Int(t * 5) % 2 == 0 ? [1e-6, 1] : [1, 1e-6]
        }
        var settings = exactSettings(rig: rig)
        settings.smoothing = try SmoothingPreset(name: "sharp", filters: [.savitzkyGolay(window: 0.2, order: 4)])
        let clip = try ClipBuilder.makeClip(from: track, name: "x", settings: settings, source: "x", model: nil)
        for curve in clip.curves { for key in curve.keys { #expect(key.value >= 0 && key.value <= 1) } }
    }

    @Test(arguments: Interpolation.allCases)
    func keyedCurvesStayWithinToleranceOfTheDenseCurves(interpolation: Interpolation) throws {
        let rig = try Presets.rig("arkit52")
        let count = 1500
        let mixtures = Self.randomMixtures(count: count, emotions: Tracks.basic.count, seed: 21)
        let track = Tracks.make(emotions: Tracks.basic, times: Tracks.uniformTimes(count: count, rate: 50), mixtures: mixtures)
        var settings = ConversionSettings(rig: rig, smoothing: try Presets.smoothing("film"))
        settings.interpolation = interpolation
        settings.keyTolerance = 0.003
        let clip = try ClipBuilder.makeClip(from: track, name: "x", settings: settings, source: "x", model: nil)
        let dense = try ClipBuilder.denseCurves(from: track, settings: settings)
        var keys = 0
        for (channel, curve) in clip.curves.enumerated() {
            keys += curve.keys.count
            for (n, value) in dense[channel].enumerated() {
                let keyed = curve.value(at: settings.frameRate.time(ofFrame: n), interpolation: interpolation)
                #expect(abs(keyed - value) <= 0.003, "\(curve.name) frame \(n)")
            }
        }
        #expect(keys < dense.count * dense[0].count / 4)
    }

    @Test func emotionKeysAreThePostProcessedMixtureOnTheFrames() throws {
        let rig = try Presets.rig("arkit52")
        let track = Tracks.make(
            emotions: ["happy", "sad"], times: [0, 1], mixtures: [[0.8, 0.2], [0.4, 0.6]], concentration: 6)
        var settings = exactSettings(rig: rig)
        settings.postProcessing = EmotionPostProcessing(strength: 0.5)
        let clip = try ClipBuilder.makeClip(from: track, name: "x", settings: settings, source: "src.json", model: "tiny")
        #expect(clip.emotions.emotions == ["happy", "sad", "neutral"])
        #expect(clip.emotions.frameCount == 31)
        #expect(clip.emotions.source == "src.json" && clip.emotions.model == "tiny")
        let middle = clip.emotions.mixture(frame: 15)
        #expect(abs(middle[0] - 0.5 * 0.6) < 1e-9 && abs(middle[1] - 0.5 * 0.4) < 1e-9 && abs(middle[2] - 0.5) < 1e-9)
        #expect(abs(clip.emotions.concentration(frame: 15) - 6) < 1e-9)
        #expect(clip.metadata.rig == "arkit52" && clip.metadata.smoothing == "raw" && clip.metadata.model == "tiny")
        #expect(clip.metadata.settings.first { $0.key == "strength" }?.value == "0.5")
        #expect(clip.metadata.settings.map(\.key).prefix(7) == ["rig", "smoothing", "smoothingFilters", "frameRate", "interpolation", "keyTolerance", "intensity"])
    }

    @Test func clipsAreIdenticalAcrossRuns() throws {
        let rig = try Presets.rig("arkit52")
        let mixtures = Self.randomMixtures(count: 500, emotions: Tracks.basic.count, seed: 4)
        let track = Tracks.make(emotions: Tracks.basic, times: Tracks.uniformTimes(count: 500, rate: 50), mixtures: mixtures)
        var settings = ConversionSettings(rig: rig, smoothing: try Presets.smoothing("film"))
        settings.interpolation = .cubic
        settings.postProcessing = EmotionPostProcessing(contrast: 1.5, blendWithPrevious: 0.3)
        let first = try ClipBuilder.makeClip(from: track, name: "x", settings: settings, source: "x", model: nil)
        let second = try ClipBuilder.makeClip(from: track, name: "x", settings: settings, source: "x", model: nil)
        #expect(first == second)
    }

    @Test func singleFrameTracks() throws {
        let rig = try Presets.rig("vrm")
        let track = Tracks.make(emotions: ["neutral", "happy"], times: [0], mixtures: [[0.5, 0.5]])
        var settings = ConversionSettings(rig: rig, smoothing: try Presets.smoothing("film"))
        settings.interpolation = .cubic
        let clip = try ClipBuilder.makeClip(from: track, name: "x", settings: settings, source: "x", model: nil)
        #expect(clip.duration == 0)
        #expect(clip.curves.allSatisfy { $0.keys.count == 1 && $0.keys[0].time == 0 })
        #expect(abs(clip.curves[0].keys[0].value - 0.5) < 1e-12)  // vrm "happy" channel
    }

    @Test func badSettingsAndTracksAreErrors() throws {
        let rig = try Presets.rig("vrm")
        let track = Tracks.make(emotions: ["neutral", "happy"], times: [0, 1], mixtures: [[0.5, 0.5], [0.5, 0.5]])
        var settings = ConversionSettings(rig: rig, smoothing: SmoothingPreset.none)
        settings.keyTolerance = -1
        #expect(throws: CurvesError.self) { try ClipBuilder.makeClip(from: track, name: "x", settings: settings, source: "x", model: nil) }
        settings.keyTolerance = 0.002
        settings.intensity = .infinity
        #expect(throws: CurvesError.self) { try ClipBuilder.makeClip(from: track, name: "x", settings: settings, source: "x", model: nil) }
        settings.intensity = 1
        let tooLong = Tracks.make(emotions: ["happy"], times: [0, 1e9], mixtures: [[1], [1]])
        let error = try #require(throws: CurvesError.self) {
            try ClipBuilder.makeClip(from: tooLong, name: "x", settings: settings, source: "long.json", model: nil)
        }
        #expect(error.code == "track.tooLong" && error.message.hasPrefix("long.json"))
    }
}

@Suite("Conversion settings")
struct ConversionSettingsTests {
    @Test func defaults() throws {
        let settings = ConversionSettings(rig: try Presets.rig("arkit52"), smoothing: try Presets.smoothing("film"))
        #expect(settings.frameRate == FrameRate(numerator: 30))
        #expect(settings.interpolation == .linear)
        #expect(settings.keyTolerance == 0.002)
        #expect(settings.intensity == 1)
        #expect(settings.postProcessing.isIdentity)
        #expect(settings.settingsSummary.first { $0.key == "smoothingFilters" }?.value == "gaussian sigma=0.06s")
    }

    @Test func theFingerprintSeesPresetContentsNotJustNames() throws {
        let base = ConversionSettings(rig: try Presets.rig("arkit52"), smoothing: try Presets.smoothing("film"))
        #expect(base.fingerprint.count == 64)
        #expect(base.fingerprint == ConversionSettings(rig: try Presets.rig("arkit52"), smoothing: try Presets.smoothing("film")).fingerprint)
        var editedRig = base
        editedRig.rig.mappings[1].weights[0].weight = 0.75  // same name, edited file
        var editedSmoothing = base
        editedSmoothing.smoothing.filters = [.gaussian(sigma: 0.061)]
        var otherRate = base
        otherRate.frameRate = FrameRate(numerator: 30000, denominator: 1001)
        var post = base
        post.postProcessing.gains = ["angry": 0.5]
        let all = [base, editedRig, editedSmoothing, otherRate, post].map(\.fingerprint)
        #expect(Set(all).count == all.count)
    }
}
