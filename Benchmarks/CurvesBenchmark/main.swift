// Benchmark of the Curves pipeline: one hour of 50 fps emotion track -> keyed ARKit curves.
// Prints figures (wall time, keys, peak RSS); scripts/bench_curves runs it beside a NumPy/SciPy
// peer and records nothing by itself. Usage:
//   CurvesBenchmark [--seconds 3600] [--rate 50] [--rig arkit52] [--smoothing film]
//                   [--interpolation linear] [--fps 30] [--tolerance 0.002] [--repeat 3]
//                   [--presets DIR] [--dump-track FILE] [--dense-only]
// --dense-only times ClipBuilder.denseCurves (map, smooth, resample; no key reduction), the
// part the NumPy peer also does.
import Common
import Curves
import EmotionCore
import Foundation

struct Options {
    var seconds = 3600.0
    var rate = 50.0
    var rig = "arkit52"
    var smoothing = "film"
    var interpolation = Interpolation.linear
    var fps = "30"
    var tolerance = 0.002
    var repeatCount = 3
    var presets: String? = nil
    var dumpTrack: String? = nil
    var denseOnly = false

    init(_ arguments: [String]) {
        var index = 0
        func value() -> String {
            index += 1
            guard index < arguments.count else { fail("missing value after \(arguments[index - 1])") }
            return arguments[index]
        }
        while index < arguments.count {
            switch arguments[index] {
            case "--seconds": seconds = parse(value(), "--seconds")
            case "--rate": rate = parse(value(), "--rate")
            case "--rig": rig = value()
            case "--smoothing": smoothing = value()
            case "--interpolation":
                let name = value()
                guard let parsed = Interpolation(rawValue: name) else { fail("bad --interpolation \(name)") }
                interpolation = parsed
            case "--fps": fps = value()
            case "--tolerance": tolerance = parse(value(), "--tolerance")
            case "--repeat": repeatCount = parse(value(), "--repeat")
            case "--presets": presets = value()
            case "--dump-track": dumpTrack = value()
            case "--dense-only": denseOnly = true
            default: fail("unknown argument \(arguments[index])")
            }
            index += 1
        }
    }
}

func parse<T: LosslessStringConvertible>(_ text: String, _ option: String) -> T {
    guard let value = T(text) else { fail("bad value \(text) for \(option)") }
    return value
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("CurvesBenchmark: \(message)\n".utf8))
    exit(2)
}

/// A deterministic stand-in for a model's output: a dominant emotion that changes every 2-6 s
/// with 0.3 s crossfades, a second emotion mixed in, frame-level jitter like a sliding-window
/// model's, and a concentration that dips at the changes.
func syntheticTrack(seconds: Double, rate: Double, emotions: [String]) -> EmotionTrack {
    var state: UInt64 = 0x5EED
    func random() -> Double {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Double(state >> 11) / Double(1 << 53)
    }
    let count = Int(seconds * rate) + 1
    let k = emotions.count
    var times = [Double](repeating: 0, count: count)
    var alpha = [Double](repeating: 0, count: count * k)
    var current = 0
    var previous = 0
    var changeTime = 0.0
    var nextChange = 2 + 4 * random()
    var secondary = 1
    var row = [Double](repeating: 0, count: k)
    for frame in 0..<count {
        let t = Double(frame) / rate
        times[frame] = t
        if t >= nextChange {
            previous = current
            current = Int(random() * Double(k)) % k
            secondary = Int(random() * Double(k)) % k
            changeTime = t
            nextChange = t + 2 + 4 * random()
        }
        let fade = min(1, (t - changeTime) / 0.3)
        for i in 0..<k { row[i] = 0.02 + 0.05 * random() }
        row[current] += 0.7 * fade
        row[previous] += 0.7 * (1 - fade)
        row[secondary] += 0.15
        let concentration = 4 + 30 * fade * (0.8 + 0.4 * random())
        let total = row.reduce(0, +)
        for i in 0..<k { alpha[frame * k + i] = row[i] / total * concentration }
    }
    return EmotionTrack(emotions: emotions, times: times, alpha: alpha, source: "synthetic-1h.json")
}

func peakResidentMegabytes() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return .nan }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let kilobytes = line.split(separator: " ").compactMap { Double($0) }.first ?? .nan
        return kilobytes / 1024
    }
    return .nan
}

let options = Options(Array(CommandLine.arguments.dropFirst()))
do {
    let presets = try ResourceLocator.presetsDirectory(explicit: options.presets)
    var settings = ConversionSettings(
        rig: try RigPreset.load(options.rig, presetsDirectory: presets),
        smoothing: try SmoothingPreset.load(options.smoothing, presetsDirectory: presets))
    settings.interpolation = options.interpolation
    settings.frameRate = try FrameRate.parse(options.fps)
    settings.keyTolerance = options.tolerance
    let track = syntheticTrack(seconds: options.seconds, rate: options.rate, emotions: EmotionVocabulary.basicSeven)
    if let path = options.dumpTrack {
        // Mixtures as raw little-endian doubles (frames x emotions) for the NumPy peer.
        let mixtures = track.mixtures
        try mixtures.withUnsafeBytes { try Data($0).write(to: URL(fileURLWithPath: path)) }
    }
    let baseline = peakResidentMegabytes()
    if options.denseOnly {
        var times: [Double] = []
        var checksum = 0.0
        var shape = (0, 0)
        for _ in 0..<max(1, options.repeatCount) {
            let start = DispatchTime.now().uptimeNanoseconds
            let dense = try ClipBuilder.denseCurves(from: track, settings: settings)
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            checksum = dense.reduce(0) { $0 + $1.reduce(0, +) }
            shape = (dense[0].count, dense.count)
        }
        let sorted = times.sorted()
        print("denseCurves wall time: min \(DecimalFormat.fixed(sorted[0], 3)) s, median \(DecimalFormat.fixed(sorted[sorted.count / 2], 3)) s over \(times.count) runs; \(shape.0) frames x \(shape.1) channels")
        print("dense checksum: \(DecimalFormat.fixed(checksum, 3))")
        print("peak RSS: \(DecimalFormat.fixed(peakResidentMegabytes(), 1)) MB (\(DecimalFormat.fixed(baseline, 1)) MB after making the track)")
        exit(0)
    }
    var times: [Double] = []
    var clip: AnimationClip? = nil
    for _ in 0..<max(1, options.repeatCount) {
        clip = nil  // so that peak RSS is one clip's, not two
        let start = DispatchTime.now().uptimeNanoseconds
        clip = try ClipBuilder.makeClip(from: track, name: "bench", settings: settings, source: "synthetic-1h.json", model: nil)
        times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
    let result = clip!
    let keys = result.curves.reduce(0) { $0 + $1.keys.count }
    let frames = result.emotions.frameCount
    let dense = frames * result.curves.count
    let sorted = times.sorted()
    var checksum = 0.0
    for curve in result.curves { for key in curve.keys { checksum += key.value } }
    print("track: \(track.frameCount) frames at \(DecimalFormat.trimmed(options.rate, 3)) fps, \(track.emotionCount) emotions, \(DecimalFormat.trimmed(options.seconds, 1)) s")
    print("settings: rig \(settings.rig.name) (\(result.curves.count) channels), smoothing \(settings.smoothing.name), \(settings.interpolation.rawValue), \(settings.frameRate) fps, tolerance \(DecimalFormat.trimmed(options.tolerance, 6))")
    print("makeClip wall time: min \(DecimalFormat.fixed(sorted[0], 3)) s, median \(DecimalFormat.fixed(sorted[sorted.count / 2], 3)) s over \(times.count) runs")
    print("output: \(frames) frames x \(result.curves.count) channels = \(dense) dense values -> \(keys) keys (\(DecimalFormat.fixed(100 * Double(keys) / Double(dense), 2))%)")
    print("peak RSS: \(DecimalFormat.fixed(peakResidentMegabytes(), 1)) MB (\(DecimalFormat.fixed(baseline, 1)) MB after making the track)")
    print("key checksum: \(DecimalFormat.fixed(checksum, 6))")
} catch {
    fail(oneLineMessage(error))
}
