import Curves
import EmotionCore
import Foundation
import TestSupport

/// A small seeded generator (SplitMix64) so random tests are the same on every run.
struct SeededRandom {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }

    mutating func uniform(_ low: Double, _ high: Double) -> Double { low + (high - low) * unit() }
}

enum Tracks {
    /// A track from mixture rows (each summing to 1) and one concentration for every frame.
    static func make(
        emotions: [String], times: [Double], mixtures: [[Double]], concentration: Double = 10, source: String = "test-track"
    ) -> EmotionTrack {
        precondition(times.count == mixtures.count)
        var alpha: [Double] = []
        for row in mixtures {
            precondition(row.count == emotions.count)
            let total = row.reduce(0, +)
            alpha.append(contentsOf: row.map { $0 / total * concentration })
        }
        return EmotionTrack(emotions: emotions, times: times, alpha: alpha, source: source)
    }

    /// Frames at `n / rate` for n = 0 ..< count.
    static func uniformTimes(count: Int, rate: Double) -> [Double] { (0..<count).map { Double($0) / rate } }

    /// One mixture row per frame from a function of time.
    static func make(
        emotions: [String], times: [Double], concentration: Double = 10, _ row: (Double) -> [Double]
    ) -> EmotionTrack {
        make(emotions: emotions, times: times, mixtures: times.map(row), concentration: concentration)
    }

    static let basic = ["neutral", "happy", "sad", "angry", "fear", "disgust", "surprise", "calm"]
}

enum Presets {
    static func rig(_ name: String) throws -> RigPreset { try RigPreset.load(name, presetsDirectory: TestPaths.presets) }
    static func smoothing(_ name: String) throws -> SmoothingPreset {
        try SmoothingPreset.load(name, presetsDirectory: TestPaths.presets)
    }

    /// Writes `text` to a fresh temporary file named `name` and returns its path.
    static func temporaryFile(_ name: String, _ text: String) -> URL {
        let url = TestPaths.temporaryDirectory("curves").appendingPathComponent(name)
        try! Data(text.utf8).write(to: url)
        return url
    }
}

/// Settings without smoothing, post-processing or key loss: the dense mapping shows through.
func exactSettings(rig: RigPreset, frameRate: FrameRate = FrameRate(numerator: 30)) -> ConversionSettings {
    var settings = ConversionSettings(rig: rig, smoothing: SmoothingPreset.none)
    settings.frameRate = frameRate
    settings.keyTolerance = 0
    return settings
}
