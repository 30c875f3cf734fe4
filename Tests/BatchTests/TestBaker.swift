import AudioIO
import Batch
import Common
import EmotionCore
import ExportKit
import Foundation
import TestSupport

/// A small baker for the batch machinery's tests: track lines are read with EmotionCore's
/// real reader; audio lines are decoded with AudioIO and get a track derived from their
/// loudness (a stand-in for a model, so these tests need no trained model); rendering writes the final track as CSV
/// and a text file of the settings, so the outputs change exactly when the inputs do.
final class TestBaker: LineBaker, @unchecked Sendable {
    let settingsText: String
    /// Lines whose id is here fail in `render` (a stand-in for a broken exporter).
    let failingIDs: Set<String>
    /// Seconds to sleep per rendered line (to make runs long enough to kill).
    let delay: Double

    init(settingsText: String = "test-settings-1", failingIDs: Set<String> = [], delay: Double = 0) {
        self.settingsText = settingsText
        self.failingIDs = failingIDs
        self.delay = delay
    }

    func fingerprint(for job: BakeJob) throws -> String {
        guard job.settings.rig != "missing-rig" else {
            throw BatchError("rig.unknown", "rig preset \"missing-rig\" not found")
        }
        return "\(settingsText) rig=\(job.settings.rig) intensity=\(job.settings.intensity)"
    }

    func modelDescription() -> ModelDescription? { nil }

    func makeWorker() throws -> any LineWorker { Worker(baker: self) }

    func renderTimeline(_ scene: SceneTimeline) throws -> [ExportedFile] {
        let text = scene.clips.map { "\($0.job.line.id) \(DecimalFormat.fixed($0.start, 3))" }.joined(separator: "\n")
        return [ExportedFile(suffix: ".txt", data: Data((text + "\n").utf8))]
    }

    final class Worker: LineWorker {
        let baker: TestBaker
        init(baker: TestBaker) { self.baker = baker }

        func emotion(for job: BakeJob) throws -> LineEmotion {
            if let trackURL = job.trackURL {
                let track = try EmotionTrack.read(from: trackURL)
                return LineEmotion(track: track, duration: track.duration)
            }
            // A stand-in for a model: the loudness of each quarter second sets the mixture.
            let audio = try AudioDecoder.read(job.audioURL!)
            let emotions = EmotionVocabulary.basicSeven
            let window = audio.sampleRate / 4
            let frames = max(1, audio.samples.count / window)
            var alpha: [Double] = []
            for frame in 0..<frames {
                let slice = audio.samples[(frame * window)..<min(audio.samples.count, (frame + 1) * window)]
                let rms = (slice.reduce(0.0) { $0 + Double($1 * $1) } / Double(max(1, slice.count))).squareRoot()
                for i in 0..<emotions.count { alpha.append(1 + (i == frame % 7 ? 10 * rms : 0) + Double(i) * 0.1) }
            }
            let track = EmotionTrack(emotions: emotions, times: (0..<frames).map { Double($0) * 0.25 }, alpha: alpha)
            return LineEmotion(track: track, duration: audio.duration)
        }

        func render(_ track: EmotionTrack, for job: BakeJob) throws -> [ExportedFile] {
            if baker.delay > 0 { Thread.sleep(forTimeInterval: baker.delay) }
            if baker.failingIDs.contains(job.line.id) { throw BatchError("test.render", "render failed on purpose") }
            let settings = "\(baker.settingsText)\nrig \(job.settings.rig)\nintensity \(job.settings.intensity)\n"
            return [
                ExportedFile(suffix: ".csv", data: track.csvData()),
                ExportedFile(suffix: ".txt", data: Data(settings.utf8)),
            ]
        }
    }
}

/// Helpers shared by the batch tests.
enum BatchFixture {
    static var scripts: URL { TestPaths.fixtures.appendingPathComponent("scripts") }

    /// A fresh folder holding a copy of Fixtures/scripts (so tests may change tracks).
    static func copyOfScripts() throws -> URL {
        let folder = TestPaths.temporaryDirectory("batch")
        let target = folder.appendingPathComponent("scripts")
        try FileManager.default.copyItem(at: scripts, to: target)
        return target
    }

    static func run(
        _ scriptURL: URL, project: BakeProject = BakeProject(), output: URL, baker: any LineBaker = TestBaker(),
        jobs: Int = 1, force: Bool = false, failFast: Bool = false, shard: Shard? = nil
    ) throws -> BatchSummary {
        let runner = BatchRunner(
            script: try DialogueScript.load(scriptURL), project: project, output: try OutputFolder(output), baker: baker,
            options: BakeOptions(jobs: jobs, force: force, failFast: failFast, shard: shard, toolVersion: "test"))
        return try runner.run(events: RecordingEventSink())
    }

    /// Every file under a folder (relative path -> bytes), leaving out `timings.json` files and
    /// the cache folder `.emobake/`.
    static func snapshot(_ folder: URL) throws -> [String: Data] {
        var files: [String: Data] = [:]
        let base = folder.resolvingSymlinksInPath().path
        let enumerator = FileManager.default.enumerator(atPath: base)!
        while let path = enumerator.nextObject() as? String {
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: base + "/" + path, isDirectory: &isDirectory)
            // The cache folder holds `stat` signatures, which differ from run to run by design.
            if isDirectory.boolValue || path.hasSuffix("timings.json") || path.hasPrefix(".emobake/") { continue }
            files[path] = try Data(contentsOf: URL(fileURLWithPath: base + "/" + path))
        }
        return files
    }

    static func text(_ url: URL) throws -> String { String(decoding: try Data(contentsOf: url), as: UTF8.self) }
}
