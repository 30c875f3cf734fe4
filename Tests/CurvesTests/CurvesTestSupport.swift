import Curves
import EmotionCore
import Foundation
import TestSupport

/// The shared seeded generator (TestSupport) under the name these tests use.
typealias SeededRandom = SplitMix64

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
