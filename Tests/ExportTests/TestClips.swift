import Curves
import EmotionCore
import Foundation
import JSONIO
import Testing
import TestSupport

/// Clips built by hand for exporter tests (no ClipBuilder): curves with keys on different
/// frames, a single-key curve, and a curve that starts late and ends early, so that shared
/// time axes, holds before the first and after the last key are all exercised.
enum TestClips {
    static let emotionNames = ["neutral", "happy", "sad", "angry"]

    /// A clip of `frames` output frames (frame 0 ... frames - 1).
    static func make(
        interpolation: Interpolation, frameRate: FrameRate = FrameRate(numerator: 30), frames: Int = 15,
        names: [String] = ["jawOpen", "mouthSmileLeft", "browInnerUp", "eyeBlinkLeft"], name: String = "small"
    ) -> AnimationClip {
        let salt: UInt64 = interpolation == .cubic ? 7 : interpolation == .step ? 3 : 0
        var random = SplitMix(seed: 0x5EED &+ salt &+ UInt64(frames))
        let last = frames - 1
        // Key frames per curve; the pattern repeats for more curves.
        let patterns: [[Int]] = [
            [0, 3, 7, last], [0, 5, last], [0], [2, max(3, last - 3)], [1, 4, 6, 9, last - 1],
        ]
        var curves: [BlendshapeCurve] = []
        for (index, curveName) in names.enumerated() {
            let keyFrames = patterns[index % patterns.count].filter { $0 <= last }
            let unique = Array(Set(keyFrames)).sorted()
            let keys = unique.map { frame in
                Keyframe(
                    time: frameRate.time(ofFrame: frame), value: random.unit(),
                    inTangent: interpolation == .cubic ? random.unit() * 4 - 2 : 0,
                    outTangent: interpolation == .cubic ? random.unit() * 4 - 2 : 0)
            }
            curves.append(BlendshapeCurve(name: curveName, keys: keys))
        }
        let times = (0..<frames).map { frameRate.time(ofFrame: $0) }
        let alpha = (0..<(frames * emotionNames.count)).map { _ in 0.05 + random.unit() * 3 }
        let track = EmotionTrack(emotions: emotionNames, times: times, alpha: alpha, source: "small.json", model: "tiny")
        let metadata = ClipMetadata(
            source: "small.json", model: "tiny", rig: "test-rig", smoothing: "raw",
            settings: [("fps", frameRate.description), ("interpolation", interpolation.rawValue), ("strength", "1.0")],
            generator: "EmoBake test")
        return AnimationClip(
            name: name, frameRate: frameRate, duration: frameRate.time(ofFrame: last), interpolation: interpolation,
            curves: curves, emotions: track, metadata: metadata)
    }

    /// Times to check a reader at: every output frame, and for linear and step also a point
    /// between frames (cubic files are compared at keys only: readers rebuild handles).
    static func checkTimes(_ clip: AnimationClip, betweenFrames: Bool) -> [Double] {
        var times: [Double] = []
        let count = clip.frameRate.lastFrame(atOrBefore: clip.duration) + 1
        for frame in 0..<count {
            times.append(clip.frameRate.time(ofFrame: frame))
            if betweenFrames && frame + 1 < count {
                times.append(clip.frameRate.time(ofFrame: frame) + 0.37 / clip.frameRate.framesPerSecond)
            }
        }
        return times
    }

    /// The key times of all curves (where cubic values are compared).
    static func keyTimes(_ clip: AnimationClip) -> [Double] { clip.unionKeyTimes }
}

/// The shared seeded generator (TestSupport) under the name these tests use.
typealias SplitMix = SplitMix64

/// Golden files in Fixtures/golden/<format>/: compared byte for byte; re-recorded only with
/// EMOBAKE_RECORD_GOLDEN=1, and recording fails the test so it is never left on.
enum Golden {
    static func check(_ data: Data, format: String, file: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let url = TestPaths.fixtures.appendingPathComponent("golden/\(format)/\(file)")
        if ProcessInfo.processInfo.environment["EMOBAKE_RECORD_GOLDEN"] == "1" {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try data.write(to: url)
            Issue.record("recorded golden file \(url.path); unset EMOBAKE_RECORD_GOLDEN and run again", sourceLocation: sourceLocation)
            return
        }
        guard let expected = FileManager.default.contents(atPath: url.path) else {
            Issue.record("missing golden file \(url.path): record it with EMOBAKE_RECORD_GOLDEN=1", sourceLocation: sourceLocation)
            return
        }
        #expect(data == expected, "output differs from golden file \(url.path)", sourceLocation: sourceLocation)
    }
}

/// Running reader scripts (Tests/Readers) and parsing the JSON they print.
enum Readers {
    /// Runs `script` with `interpreter` and parses its standard output as JSON.
    static func json(_ script: String, _ arguments: [String], interpreter: String = "python3") throws -> JSONValue {
        try command(interpreter, [TestPaths.readers.appendingPathComponent(script).path] + arguments)
    }

    /// Runs a program and parses the last line of its output that starts with "{" as JSON
    /// (tools such as Blender print their own lines too); a non-zero exit fails with the output.
    static func command(_ executable: String, _ arguments: [String]) throws -> JSONValue {
        let result = try TestProcess.run(executable, arguments)
        guard result.status == 0 else {
            throw ReaderFailure(
                description: "\(executable) \(arguments.first ?? "") exited \(result.status): \(result.standardError.suffix(2000)) \(result.standardOutput.suffix(1000))")
        }
        let line = result.standardOutput.split(separator: "\n").last(where: { $0.hasPrefix("{") }) ?? ""
        return try JSONCodec.parse(Data(line.utf8), source: executable)
    }

    static func doubles(_ value: JSONValue?) -> [Double] { value?.arrayValue?.compactMap(\.doubleValue) ?? [] }
}

struct ReaderFailure: Error, CustomStringConvertible { let description: String }

/// Scratch folders for one test run, all inside one folder that is removed when the test
/// process exits.
enum Scratch {
    static let root: URL = {
        let url = TestPaths.temporaryDirectory("export-tests")
        scratchRootPath = url.path
        atexit {
            if let path = scratchRootPath { try? FileManager.default.removeItem(atPath: path) }
        }
        return url
    }()

    /// A fresh empty folder inside the run's scratch folder.
    static func directory(_ label: String) -> URL {
        let url = root.appendingPathComponent("\(label)-\(UUID().uuidString.prefix(8))")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

nonisolated(unsafe) private var scratchRootPath: String?

/// A scratch folder with the rendered files written into it.
func writeScratch(_ files: [(suffix: String, data: Data)], baseName: String, label: String) throws -> URL {
    let directory = Scratch.directory(label)
    for file in files { try file.data.write(to: directory.appendingPathComponent(baseName + file.suffix)) }
    return directory
}
