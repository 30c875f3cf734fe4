import Common
import EmotionCore
import ExportKit
import Foundation
import JSONIO
import Testing
import TestSupport

@testable import Batch

@Suite("Batch runs")
struct BatchRunnerTests {
    @Test func bakesEveryLineAndWritesManifestAndReports() throws {
        let scripts = try BatchFixture.copyOfScripts()
        let output = scripts.deletingLastPathComponent().appendingPathComponent("out")
        let summary = try BatchFixture.run(scripts.appendingPathComponent("lines.csv"), output: output)
        #expect(summary.failedCount == 0)
        #expect(summary.count(.baked) == 5)
        for path in ["alice/intro_01.csv", "bob/intro_02.txt", "alice/hall_02.csv", "manifest.json", "report.csv", "report.html", "timings.json", "timelines/en/intro.xml", "timelines/en/intro.txt"] {
            #expect(FileManager.default.fileExists(atPath: output.appendingPathComponent(path).path), "\(path)")
        }
        // The output is the track after the hint prior: intro_02 is hinted "sad".
        let baked = try EmotionTrack.parseCSV(try Data(contentsOf: output.appendingPathComponent("bob/intro_02.csv")), source: "x")
        let input = try EmotionTrack.read(from: scripts.appendingPathComponent("tracks/sad_to_neutral.json"))
        let sad = input.index(of: "sad")!
        let expected = (input.mixture(frame: 20)[sad] + 0.5) / 1.5
        #expect(abs(baked.mixture(frame: 20)[sad] - expected) < 1e-4)

        let manifest = try Manifest.read(output.appendingPathComponent("manifest.json"))
        #expect(manifest.lines.map(\.id) == ["intro_01", "intro_02", "intro_03", "hall_01", "hall_02"])
        #expect(manifest.lines[1].trackSHA256 == (try SHA256.hex(ofFileAt: scripts.appendingPathComponent("tracks/sad_to_neutral.json"))))
        let output1 = manifest.lines[0].outputs.first { $0.path == "alice/intro_01.csv" }!
        #expect(output1.sha256 == (try SHA256.hex(ofFileAt: output.appendingPathComponent("alice/intro_01.csv"))))
        #expect(manifest.scriptName == "lines.csv" && manifest.scriptFolder == "../scripts")
        #expect(manifest.timelines.map(\.scene) == ["intro"])

        let report = try BatchFixture.text(output.appendingPathComponent("report.csv")).split(separator: "\n", omittingEmptySubsequences: false)
        #expect(report[0] == "id,character,language,audio,status,message,duration,dominant_emotion")
        #expect(report[1] == "intro_01,alice,en,tracks/happy_to_surprise.json,ok,,2.000,happy")
        #expect(report[2] == "intro_02,bob,en,tracks/sad_to_neutral.json,ok,,2.000,sad")
        #expect(report[3] == "intro_03,alice,en,tracks/angry_to_disgust.json,ok,,2.000,angry")
    }

    @Test func unchangedLinesAreSkippedAndChangedOnesRebaked() throws {
        let scripts = try BatchFixture.copyOfScripts()
        let script = scripts.appendingPathComponent("lines.csv")
        let output = scripts.deletingLastPathComponent().appendingPathComponent("out")
        _ = try BatchFixture.run(script, output: output)
        let first = try BatchFixture.snapshot(output)
        let outputURL = output.appendingPathComponent("alice/intro_01.csv")
        let modified = try FileManager.default.attributesOfItem(atPath: outputURL.path)[.modificationDate] as! Date

        let again = try BatchFixture.run(script, output: output)
        #expect(again.count(.cached) == 5 && again.count(.baked) == 0)
        #expect(try BatchFixture.snapshot(output) == first)
        #expect(try FileManager.default.attributesOfItem(atPath: outputURL.path)[.modificationDate] as! Date == modified)
        let timings = try JSONCodec.parse(contentsOf: output.appendingPathComponent("timings.json"))
        #expect(timings["cached"] == 5 && timings["baked"] == 0)

        // New bytes in one track: only that line is baked again.
        var track = try EmotionTrack.read(from: scripts.appendingPathComponent("tracks/fear_to_sad.json"))
        track.alpha[0] += 5
        try track.write(to: scripts.appendingPathComponent("tracks/fear_to_sad.json"))
        let changed = try BatchFixture.run(script, output: output)
        #expect(changed.results.filter { $0.action == .baked }.map(\.line.id) == ["hall_01"])

        // Other settings: every line is baked again.
        let settings = try BatchFixture.run(script, output: output, baker: TestBaker(settingsText: "test-settings-2"))
        #expect(settings.count(.baked) == 5)

        // --force bakes everything even when nothing changed.
        let forced = try BatchFixture.run(script, output: output, baker: TestBaker(settingsText: "test-settings-2"), force: true)
        #expect(forced.count(.baked) == 5)

        // An output damaged or deleted by hand is noticed and baked again.
        try Data("tampered".utf8).write(to: output.appendingPathComponent("bob/intro_02.csv"))
        try FileManager.default.removeItem(at: output.appendingPathComponent("alice/hall_02.txt"))
        let repaired = try BatchFixture.run(script, output: output, baker: TestBaker(settingsText: "test-settings-2"))
        #expect(Set(repaired.results.filter { $0.action == .baked }.map(\.line.id)) == ["intro_02", "hall_02"])

        // Unchanged files are recognised by `stat`; a touched file is hashed again and, its
        // bytes being the same, still skipped; other bytes of the same size are noticed.
        let trackURL = scripts.appendingPathComponent("tracks/happy_to_surprise.json")
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: 60)], ofItemAtPath: trackURL.path)
        let touched = try BatchFixture.run(script, output: output, baker: TestBaker(settingsText: "test-settings-2"))
        #expect(touched.count(.cached) == 5)
        var bytes = try Data(contentsOf: trackURL)
        let digit = bytes.lastIndex(of: UInt8(ascii: "4"))!
        bytes[digit] = UInt8(ascii: "5")
        let handle = try FileHandle(forWritingTo: trackURL)
        try handle.write(contentsOf: bytes)
        try handle.close()
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: 60)], ofItemAtPath: trackURL.path)
        let edited = try BatchFixture.run(script, output: output, baker: TestBaker(settingsText: "test-settings-2"))
        #expect(edited.results.filter { $0.action == .baked }.map(\.line.id) == ["intro_01"])
    }

    @Test func oneAndTwoJobsWriteIdenticalBytes() throws {
        let scripts = try BatchFixture.copyOfScripts()
        let script = try makeLongScript(in: scripts, lines: 40)
        let one = scripts.deletingLastPathComponent().appendingPathComponent("out-j1")
        let two = scripts.deletingLastPathComponent().appendingPathComponent("out-j2")
        let four = scripts.deletingLastPathComponent().appendingPathComponent("out-j4")
        _ = try BatchFixture.run(script, output: one, jobs: 1)
        _ = try BatchFixture.run(script, output: two, jobs: 2)
        _ = try BatchFixture.run(script, output: four, jobs: 4)
        let reference = try BatchFixture.snapshot(one)
        #expect(reference.count > 80)
        #expect(try BatchFixture.snapshot(two) == reference)
        #expect(try BatchFixture.snapshot(four) == reference)
    }

    @Test func badLinesFailAloneWithTheirReason() throws {
        let scripts = try BatchFixture.copyOfScripts()
        let outside = TestPaths.temporaryDirectory("outside")
        try Data("not audio".utf8).write(to: scripts.appendingPathComponent("noise.wav"))
        let script = scripts.appendingPathComponent("bad.csv")
        try Data("""
            id,character,audio,track,emotion
            good,alice,,tracks/happy_to_surprise.json,
            missing_audio,alice,audio/nowhere.wav,,
            missing_track,alice,,tracks/nowhere.json,
            ..,alice,,tracks/sad_to_neutral.json,
            a/b,alice,,tracks/sad_to_neutral.json,
            good,bob,,tracks/sad_to_neutral.json,
            stranger,carol,,tracks/sad_to_neutral.json,
            bad_rig,dave,,tracks/sad_to_neutral.json,
            bad_hint,alice,,tracks/sad_to_neutral.json,bored
            corrupt_track,alice,,noise.wav,
            escape,link,,tracks/sad_to_neutral.json,
            render,alice,,tracks/fear_to_sad.json,
            also_good,bob,,tracks/fear_to_sad.json,angry
            corrupt_audio,alice,noise.wav,,
            spoken,bob,\(TestPaths.fixtures.path)/demo/audio/dock_02.flac,,

            """.utf8).write(to: script)
        var project = BakeProject()
        project.characters = [
            "alice": BakeProject.defaultCharacter, "bob": BakeProject.defaultCharacter, "link": BakeProject.defaultCharacter,
            "dave": CharacterSettings(rig: "missing-rig", smoothing: "natural", intensity: 1),
        ]
        let output = scripts.deletingLastPathComponent().appendingPathComponent("out")
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: output.appendingPathComponent("link").path, withDestinationPath: outside.path)
        let summary = try BatchFixture.run(script, project: project, output: output, baker: TestBaker(failingIDs: ["render"]), jobs: 2)
        let byID = Dictionary(summary.results.map { ($0.line.location, $0) }, uniquingKeysWith: { a, _ in a })
        func result(_ row: Int) -> LineResult { byID["\(script.path):\(row)"]! }
        #expect(result(2).isOK)
        #expect(result(3).errorCode == "audio.missing" && result(3).message!.contains("audio/nowhere.wav"))
        #expect(result(4).errorCode == "track.missing")
        #expect(result(5).errorCode == "line.id" && result(5).message!.contains("would leave its folder"))
        #expect(result(6).errorCode == "line.id" && result(6).message!.contains("path separator"))
        #expect(result(7).errorCode == "line.duplicateID" && result(7).message!.contains("bad.csv:2"))
        #expect(result(8).errorCode == "line.character" && result(8).message!.contains("known: alice, bob, dave, link"))
        #expect(result(9).errorCode == "rig.unknown")
        #expect(result(10).errorCode == "line.emotion")
        #expect(result(11).errorCode == "track.extension")
        #expect(result(12).errorCode == "path.escape" && result(12).message!.contains("pointing out of the output folder"))
        #expect(result(13).errorCode == "test.render")
        #expect(result(14).isOK)
        #expect(result(15).errorCode?.hasPrefix("audio.") == true && result(15).message!.contains("noise.wav"))
        #expect(result(16).isOK && abs(result(16).record!.duration - 3.755) < 0.01)
        #expect(summary.failedCount == 12)
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside.path).isEmpty)
        // The failures are in the report with their message.
        let report = try BatchFixture.text(output.appendingPathComponent("report.csv"))
        #expect(report.contains("missing_audio,alice,,audio/nowhere.wav,failed,"))
        let manifest = try Manifest.read(output.appendingPathComponent("manifest.json"))
        #expect(manifest.failedCount == 12)
    }

    @Test func failFastStopsStartingLines() throws {
        let scripts = try BatchFixture.copyOfScripts()
        let summary = try BatchFixture.run(
            scripts.appendingPathComponent("lines.csv"), output: scripts.deletingLastPathComponent().appendingPathComponent("out"),
            baker: TestBaker(failingIDs: ["intro_02"]), jobs: 1, failFast: true)
        #expect(summary.results.map(\.action) == [.baked, .failed, .cancelled, .cancelled, .cancelled])
        #expect(summary.results[2].message == "not baked: --fail-fast stopped the batch after line \"intro_02\" failed")
    }

    @Test func leftoversOfAKilledRunAreRemoved() throws {
        let scripts = try BatchFixture.copyOfScripts()
        let output = scripts.deletingLastPathComponent().appendingPathComponent("out")
        try FileManager.default.createDirectory(at: output.appendingPathComponent("alice"), withIntermediateDirectories: true)
        let leftover = output.appendingPathComponent("alice/.emobake-tmp-123-456-intro_01.csv")
        let foreign = output.appendingPathComponent("alice/.emobake-tmp-123-456-other_line.csv")
        try Data("half".utf8).write(to: leftover)
        try Data("someone else's".utf8).write(to: foreign)
        // A run killed while writing its manifest, reports or scene timelines leaves these
        // (the script's "intro" scene, in English, has a timeline); another scene's is not ours.
        try FileManager.default.createDirectory(at: output.appendingPathComponent("timelines/en"), withIntermediateDirectories: true)
        let runFiles = ["manifest.json", "report.csv", "report.html", "timings.json"].map {
            output.appendingPathComponent(".emobake-tmp-123-789-" + $0)
        } + [output.appendingPathComponent("timelines/en/.emobake-tmp-123-790-intro.glb")]
        let otherScene = output.appendingPathComponent("timelines/en/.emobake-tmp-123-791-outro.xml")
        for file in runFiles + [otherScene] { try Data("half".utf8).write(to: file) }
        _ = try BatchFixture.run(scripts.appendingPathComponent("lines.csv"), output: output)
        #expect(!FileManager.default.fileExists(atPath: leftover.path))
        #expect(FileManager.default.fileExists(atPath: foreign.path))
        #expect(runFiles.filter { FileManager.default.fileExists(atPath: $0.path) }.isEmpty)
        #expect(FileManager.default.fileExists(atPath: otherScene.path))
    }

    @Test func droppedFormatsLeaveNoStaleFiles() throws {
        let scripts = try BatchFixture.copyOfScripts()
        let output = scripts.deletingLastPathComponent().appendingPathComponent("out")
        let script = scripts.appendingPathComponent("lines.csv")
        _ = try BatchFixture.run(script, output: output)
        final class CSVOnly: LineBaker, @unchecked Sendable {
            let inner = TestBaker(settingsText: "csv-only")
            func fingerprint(for job: BakeJob) throws -> String { try inner.fingerprint(for: job) }
            func modelDescription() -> ModelDescription? { nil }
            func renderTimeline(_ scene: SceneTimeline) throws -> [ExportedFile] { [] }
            func makeWorker() throws -> any LineWorker { Worker(try inner.makeWorker()) }
            final class Worker: LineWorker {
                let inner: any LineWorker
                init(_ inner: any LineWorker) { self.inner = inner }
                func emotion(for job: BakeJob) throws -> LineEmotion { try inner.emotion(for: job) }
                func render(_ track: EmotionTrack, for job: BakeJob) throws -> [ExportedFile] {
                    try inner.render(track, for: job).filter { $0.suffix == ".csv" }
                }
            }
        }
        _ = try BatchFixture.run(script, output: output, baker: CSVOnly())
        #expect(FileManager.default.fileExists(atPath: output.appendingPathComponent("alice/intro_01.csv").path))
        #expect(!FileManager.default.fileExists(atPath: output.appendingPathComponent("alice/intro_01.txt").path))
    }

    /// A script of `lines` track lines over the fixture tracks, two characters, two scenes.
    func makeLongScript(in scripts: URL, lines: Int) throws -> URL {
        let tracks = try FileManager.default.contentsOfDirectory(atPath: scripts.appendingPathComponent("tracks").path).sorted()
        var text = "id,character,track,emotion,start,scene,language\n"
        for index in 0..<lines {
            let hint = ["", "happy", "sad", "", "angry"][index % 5]
            let start = index % 3 == 0 ? "" : String(Double(index) * 1.5)
            text += "line_\(index),\(index % 2 == 0 ? "alice" : "bob"),tracks/\(tracks[index % tracks.count]),\(hint),\(start),scene\(index % 2),\(index % 4 == 0 ? "fr" : "en")\n"
        }
        let url = scripts.appendingPathComponent("long.csv")
        try Data(text.utf8).write(to: url)
        return url
    }
}
