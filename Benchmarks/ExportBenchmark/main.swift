// ExportBenchmark: the exporters on the converter benchmark's clip (a one-hour 50 fps
// track mapped to arkit52 at the default 30 fps output, film smoothing, default key
// tolerance), timed per format.
// Run through scripts/bench_exporters, which builds it in release mode and runs the peers.
//
// usage: ExportBenchmark [--minutes M] [--fps N] [--output-fps R] [--interpolation linear|step|cubic]
//                        [--format all|glb|gltf|fbx|csv|xml] [--csv-layout wide|long|unreal]
//                        [--output DIR] [--presets DIR]
// Prints one line per step (seconds, bytes) and the process's peak RSS.

import Common
import Curves
import EmotionCore
import ExportFormats
import ExportKit
import Foundation

#if canImport(Glibc)
import Glibc
#endif

var options: [String: String] = [
    "minutes": "60", "fps": "50", "output-fps": "30", "interpolation": "linear", "format": "all", "csv-layout": "wide",
]
var arguments = CommandLine.arguments.dropFirst()
while let flag = arguments.popFirst() {
    guard flag.hasPrefix("--"), let value = arguments.popFirst() else {
        FileHandle.standardError.write(Data("usage: ExportBenchmark [--minutes M] [--fps N] [--output-fps R] [--interpolation I] [--format F] [--csv-layout L] [--output DIR] [--presets DIR]\n".utf8))
        exit(2)
    }
    options[String(flag.dropFirst(2))] = value
}

func seconds(_ duration: Duration) -> String {
    let (whole, attoseconds) = duration.components
    return DecimalFormat.fixed(Double(whole) + Double(attoseconds) * 1e-18, 3)
}

/// CPU seconds this process has used (user + system): unlike wall time, it does not grow
/// when other jobs share the machine.
func cpuSeconds() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &spec)
    return Double(spec.tv_sec) + Double(spec.tv_nsec) * 1e-9
}

func peakRSSMegabytes() -> String {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return DecimalFormat.fixed(Double(usage.ru_maxrss) / 1024, 1)  // ru_maxrss is in KiB on Linux
}

do {
    let clock = ContinuousClock()
    let minutes = Double(options["minutes"]!)!
    let inputRate = Double(options["fps"]!)!
    let emotions = ["neutral", "happy", "sad", "angry", "fear", "disgust", "surprise", "calm"]

    // A smooth, deterministic emotion track: each alpha is a log-sum of slow sines (periods
    // of 2 to 40 s), like an emotion drifting through a long dialogue.
    let frames = Int(minutes * 60 * inputRate) + 1
    var times = [Double](repeating: 0, count: frames)
    var alpha = [Double](repeating: 0, count: frames * emotions.count)
    for frame in 0..<frames {
        let t = Double(frame) / inputRate
        times[frame] = t
        for e in emotions.indices {
            let k = Double(e + 1)
            let phase = 2 * Double.pi * t
            let log = 1.5 * sin(phase / (40 / k) + k) + 0.8 * sin(phase / (7 / k) + 2 * k) + 0.3 * sin(phase / 2 + 3 * k)
            alpha[frame * emotions.count + e] = 5 * exp(log)
        }
    }
    let track = EmotionTrack(emotions: emotions, times: times, alpha: alpha, source: "benchmark.json", model: "synthetic")

    let presets = try ResourceLocator.presetsDirectory(explicit: options["presets"])
    var settings = ConversionSettings(
        rig: try RigPreset.load("arkit52", presetsDirectory: presets),
        smoothing: try SmoothingPreset.load("film", presetsDirectory: presets))
    settings.frameRate = try FrameRate.parse(options["output-fps"]!)
    guard let interpolation = Interpolation(rawValue: options["interpolation"]!) else {
        throw ExportError("benchmark.usage", "--interpolation must be linear, step or cubic")
    }
    settings.interpolation = interpolation
    settings.generator = "EmoBake benchmark"

    var start = clock.now
    var cpuStart = cpuSeconds()
    let clip = try ClipBuilder.makeClip(from: track, name: "benchmark", settings: settings, source: "benchmark.json", model: "synthetic")
    let keys = clip.curves.reduce(0) { $0 + $1.keys.count }
    print(
        "clip      \(seconds(clock.now - start)) s wall, \(DecimalFormat.fixed(cpuSeconds() - cpuStart, 3)) s cpu: \(clip.curves.count) curves, \(clip.outputFrameCount) frames, \(keys) keys (\(interpolation.rawValue))")

    var exportSettings = ExportSettings()
    guard let layout = CSVLayout(rawValue: options["csv-layout"]!) else {
        throw ExportError("benchmark.usage", "--csv-layout must be wide, long or unreal")
    }
    exportSettings.csvLayout = layout
    let formats = try ExportFormat.parseList(options["format"]!)
    let output = URL(fileURLWithPath: options["output"] ?? FileManager.default.temporaryDirectory.appendingPathComponent("emobake-export-benchmark").path)
    var total = Duration.zero
    var totalCPU = 0.0
    for format in formats {
        start = clock.now
        cpuStart = cpuSeconds()
        let files = try format.makeExporter(exportSettings).render(clip, baseName: "benchmark")
        try ExportWriter.write(files, baseName: "benchmark", in: output)
        let wall = clock.now - start
        let cpu = cpuSeconds() - cpuStart
        total += wall
        totalCPU += cpu
        let bytes = files.reduce(0) { $0 + $1.data.count }
        print("\(format.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0)) \(seconds(wall)) s wall, \(DecimalFormat.fixed(cpu, 3)) s cpu: \(bytes) bytes")
    }
    print("exports   \(seconds(total)) s wall, \(DecimalFormat.fixed(totalCPU, 3)) s cpu for \(formats.map(\.rawValue).joined(separator: ","))")
    print("peak RSS  \(peakRSSMegabytes()) MB")
} catch {
    FileHandle.standardError.write(Data("ExportBenchmark: \(oneLineMessage(error))\n".utf8))
    exit(1)
}
