import Foundation
import TestSupport
import Testing

/// `emobake convert` and `emobake presets`, run as a user runs them: the built binary.
@Suite struct ConvertCommandTests {
    let demoTrack = TestPaths.fixtures.appendingPathComponent("tracks/demo.json").path

    @Test func convertsToEveryFormatByteIdenticallyAcrossRuns() throws {
        let first = TestPaths.temporaryDirectory("convert-a")
        let second = TestPaths.temporaryDirectory("convert-b")
        let a = try TestProcess.emobake(["convert", demoTrack, "-o", first.path])
        #expect(a.status == 0, "\(a.standardError)")
        let b = try TestProcess.emobake(["convert", demoTrack, "-o", second.path, "--quiet"])
        #expect(b.status == 0)
        #expect(b.standardOutput.isEmpty)
        let names = try FileManager.default.contentsOfDirectory(atPath: first.path).sorted()
        #expect(names == ["demo.bin", "demo.csv", "demo.fbx", "demo.glb", "demo.gltf", "demo.xml"])
        for name in names {
            let left = try Data(contentsOf: first.appendingPathComponent(name))
            let right = try Data(contentsOf: second.appendingPathComponent(name))
            #expect(left == right, "\(name) differs between runs")
            #expect(!left.isEmpty)
        }
        #expect(a.standardOutput.contains("52 blendshapes"))
    }

    @Test func csvValuesFollowTheTrack() throws {
        // The demo track peaks in "angry" near 1.9 s and is neutral at 0 s: arkit52's
        // anger blendshapes (brows down) must be high there and near zero at the start.
        let directory = TestPaths.temporaryDirectory("convert-csv")
        let result = try TestProcess.emobake(["convert", demoTrack, "-o", directory.path, "--format", "csv", "--fps", "25"])
        #expect(result.status == 0, "\(result.standardError)")
        let text = try String(contentsOf: directory.appendingPathComponent("demo.csv"), encoding: .utf8)
        let rows = text.split(separator: "\n").map { $0.split(separator: ",").map(String.init) }
        let header = rows[0]
        let column = try #require(header.firstIndex(of: "browDownLeft"))
        let timeColumn = try #require(header.firstIndex(of: "time"))
        #expect(rows.count == 1 + 76)  // 3 s at 25 fps: frames 0 ... 75
        func value(at time: Double) -> Double {
            let row = rows.dropFirst().min(by: { abs(Double($0[timeColumn])! - time) < abs(Double($1[timeColumn])! - time) })!
            return Double(row[column])!
        }
        #expect(value(at: 0) < 0.05)
        #expect(value(at: 1.9) > 0.3)
    }

    @Test(arguments: [
        (#"{"emotions": ["neutral", "happy"], "times": [0, 0], "alpha": [[1, 1], [1, 1]]}"#, "frame 1"),
        (#"{"emotions": ["neutral", "happy"], "times": [0, 1], "alpha": [[1, 1], [1, -2]]}"#, "frame 1: alpha for happy"),
        (#"{"emotions": ["neutral"], "times": [0], "alpha": [[1]]"#, "invalid JSON"),
        ("", "empty file"),
    ])
    func badTrackFailsCleanlyAndWritesNothing(text: String, fragment: String) throws {
        let directory = TestPaths.temporaryDirectory("convert-bad")
        let track = directory.appendingPathComponent("bad.json")
        try Data(text.utf8).write(to: track)
        let output = directory.appendingPathComponent("out")
        let result = try TestProcess.emobake(["convert", track.path, "-o", output.path])
        #expect(result.status == 1)
        let lines = result.standardError.split(separator: "\n")
        #expect(lines.count == 1, "\(result.standardError)")
        #expect(result.standardError.contains(track.path))
        #expect(result.standardError.contains(fragment), "\(result.standardError)")
        let left = (try? FileManager.default.contentsOfDirectory(atPath: output.path)) ?? []
        #expect(left.isEmpty, "left behind: \(left)")
    }

    @Test func oneBadTrackDoesNotStopTheOthers() throws {
        let directory = TestPaths.temporaryDirectory("convert-mixed")
        let output = directory.appendingPathComponent("out")
        let result = try TestProcess.emobake([
            "convert", directory.appendingPathComponent("missing.json").path, demoTrack, "-o", output.path, "--format", "csv",
        ])
        #expect(result.status == 1)
        #expect(result.standardError.contains("missing.json: no such file"))
        #expect(FileManager.default.fileExists(atPath: output.appendingPathComponent("demo.csv").path))
    }

    @Test(arguments: [
        ["--rig", "no_such_rig"], ["--smoothing", "nope"], ["--fps", "0"], ["--format", "glb,obj"],
        ["--interpolation", "bezier"], ["--csv-layout", "tall"], ["--gain", "angry"], ["--tolerance", "-1"],
    ])
    func badUsageExitsTwo(extra: [String]) throws {
        let directory = TestPaths.temporaryDirectory("convert-usage")
        let result = try TestProcess.emobake(["convert", demoTrack, "-o", directory.path] + extra)
        #expect(result.status == 2, "\(extra): \(result.standardError)")
        #expect(result.standardError.hasPrefix("emobake: "))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty)
    }

    @Test func badUserRigNamesFileAndField() throws {
        let directory = TestPaths.temporaryDirectory("convert-rig")
        let rig = directory.appendingPathComponent("rig.json")
        try Data(#"{"format": "emobake-rig", "version": 1, "name": "r", "blendshapes": ["a"], "emotions": [{"emotion": "happy", "basis": "x", "weights": {"a": 1.5}}]}"#.utf8).write(to: rig)
        let result = try TestProcess.emobake(["convert", demoTrack, "-o", directory.appendingPathComponent("o").path, "--rig", rig.path])
        #expect(result.status == 2)
        #expect(result.standardError.contains(rig.path), "\(result.standardError)")
    }

    @Test func jsonLinesForBuildSystems() throws {
        let directory = TestPaths.temporaryDirectory("convert-json")
        let result = try TestProcess.emobake(["convert", demoTrack, "-o", directory.path, "--format", "xml", "--json"])
        #expect(result.status == 0)
        let line = try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any]
        #expect(line?["status"] as? String == "done")
        #expect((line?["outputs"] as? [String])?.count == 1)
    }

    @Test func helpHasExamples() throws {
        let result = try TestProcess.emobake(["convert", "--help"])
        #expect(result.status == 0)
        #expect(result.standardOutput.contains("Examples:"))
        #expect(result.standardOutput.contains("--rig-model"))
    }

    @Test func presetsListAndShow() throws {
        let list = try TestProcess.emobake(["presets", "list"])
        #expect(list.status == 0)
        for name in ["arkit52", "vrm", "facs", "audio2face", "film", "game", "raw"] {
            #expect(list.standardOutput.contains(name))
        }
        let show = try TestProcess.emobake(["presets", "show", "arkit52"])
        #expect(show.status == 0)
        #expect(show.standardOutput.contains("jawOpen"))
        let unknown = try TestProcess.emobake(["presets", "show", "nothing"])
        #expect(unknown.status == 2)
    }
}
