import Foundation
import Testing
import TestSupport

/// `emobake bake` and `emobake merge` as a user runs them: the built binary on track lines
/// (the real pipeline from track to files, no model needed), and the demo from the README.
@Suite("emobake bake (end to end)", .serialized)
struct BakeEndToEndTests {
    /// A scratch folder with a script of `count` track lines over the fixture tracks, two
    /// characters, two scenes, hints, and a project writing glb, csv and xml.
    static func workspace(lines count: Int, template: String = "{language}/{character}/{id}") throws -> URL {
        let folder = TestPaths.temporaryDirectory("bake-e2e")
        let tracks = TestPaths.fixtures.appendingPathComponent("scripts/tracks")
        try FileManager.default.copyItem(at: tracks, to: folder.appendingPathComponent("tracks"))
        let names = try FileManager.default.contentsOfDirectory(atPath: tracks.path).sorted()
        var text = "id,character,language,track,emotion,scene,start,text\n"
        for index in 0..<count {
            let hint = ["", "happy", "", "angry", "sad"][index % 5]
            let start = index < 12 ? String(format: "%.2f", Double(index % 6) * 2.2) : ""
            text += "l\(index),\(index % 2 == 0 ? "mara" : "theo"),\(index % 3 == 0 ? "fr" : "en"),tracks/\(names[index % names.count]),\(hint),scene\(index / 6),\(start),\"Line \(index), spoken\"\n"
        }
        try Data(text.utf8).write(to: folder.appendingPathComponent("script.csv"))
        let project = """
            {"output": "\(template)", "formats": ["glb", "csv", "xml"], "frameRate": "30",
             "characters": {"mara": {"rig": "arkit52", "smoothing": "film"}, "theo": {"rig": "arkit52", "smoothing": "game", "intensity": 0.8}}}
            """
        try Data(project.utf8).write(to: folder.appendingPathComponent("project.json"))
        return folder
    }

    static func bake(_ folder: URL, _ output: String, _ extra: [String] = [], environment: [String: String]? = nil) throws -> ProcessResult {
        try TestProcess.emobake(
            ["bake", folder.appendingPathComponent("script.csv").path, "--project", folder.appendingPathComponent("project.json").path,
             "-o", folder.appendingPathComponent(output).path] + extra, environment: environment)
    }

    /// Every file under a folder (relative path -> bytes), without timings.json, shards/ and the
    /// cache folder .emobake/ (its records hold `stat` signatures, which differ by design).
    static func snapshot(_ folder: URL) throws -> [String: Data] {
        var files: [String: Data] = [:]
        let base = folder.resolvingSymlinksInPath().path
        let enumerator = FileManager.default.enumerator(atPath: base)!
        while let path = enumerator.nextObject() as? String {
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: base + "/" + path, isDirectory: &isDirectory)
            if isDirectory.boolValue || path.hasSuffix("timings.json") || path.hasPrefix("shards/") || path.hasPrefix(".emobake/") { continue }
            files[path] = try Data(contentsOf: URL(fileURLWithPath: base + "/" + path))
        }
        return files
    }

    @Test func oneAndTwoJobsGiveIdenticalBytesAndARerunSkipsEverything() throws {
        let folder = try Self.workspace(lines: 24)
        let one = try Self.bake(folder, "j1", ["-j", "1"])
        #expect(one.status == 0, "\(one.standardError)")
        let two = try Self.bake(folder, "j2", ["-j", "2"])
        #expect(two.status == 0, "\(two.standardError)")
        let reference = try Self.snapshot(folder.appendingPathComponent("j1"))
        #expect(reference.keys.contains("fr/mara/l0.glb") && reference.keys.contains("en/theo/l1.xml"))
        #expect(reference.keys.contains("timelines/fr/scene0.xml") && reference.keys.contains("timelines/en/scene1.glb"))
        #expect(try Self.snapshot(folder.appendingPathComponent("j2")) == reference)

        // A no-op re-run: every line unchanged, no file rewritten, and --json events.
        let again = try Self.bake(folder, "j2", ["-j", "2", "--json"])
        #expect(again.status == 0)
        let events = again.standardOutput.split(separator: "\n").map { String($0) }
        #expect(events.first?.hasPrefix("{\"event\":\"started\",\"lines\":24,\"jobs\":2") == true)
        #expect(events.filter { $0.contains("\"event\":\"done\"") && $0.contains("\"status\":\"cached\"") }.count == 24)
        #expect(events.filter { $0.contains("\"event\":\"progress\"") }.count == 24)
        #expect(events.last?.contains("\"event\":\"finished\",\"baked\":0,\"cached\":24,\"failed\":0") == true)
        #expect(try Self.snapshot(folder.appendingPathComponent("j2")) == reference)

        // --force bakes every line again, to the same bytes.
        let forced = try Self.bake(folder, "j2", ["--force", "--json"])
        #expect(forced.standardOutput.contains("\"event\":\"finished\",\"baked\":24,\"cached\":0"))
        #expect(try Self.snapshot(folder.appendingPathComponent("j2")) == reference)
    }

    /// The scene's glb read back by pygltflib: every line of the scene on one time axis,
    /// each character's morph targets under its own name.
    @Test func sceneGLBHoldsTheWholeScene() throws {
        let folder = try Self.workspace(lines: 6)
        #expect(try Self.bake(folder, "out").status == 0)
        // Scene 0 in English: l1 (theo, 2.2 s), l2 (mara, 4.4 s), l4 (mara, 8.8 s), l5 (theo, 11.0 s); tracks last 2 s.
        let glb = folder.appendingPathComponent("out/timelines/en/scene0.glb").path
        let reader = """
            import sys, struct, pygltflib
            g = pygltflib.GLTF2().load(sys.argv[1])
            names = g.meshes[0].extras["targetNames"]
            blob = g.binary_blob()
            def scalars(index):
                a = g.accessors[index]; v = g.bufferViews[a.bufferView]
                return struct.unpack_from("<%df" % a.count, blob, (v.byteOffset or 0) + (a.byteOffset or 0))
            sampler = g.animations[0].samplers[0]
            times, weights, n = scalars(sampler.input), scalars(sampler.output), len(names)
            def at(t):  # LINEAR interpolation of every weight at time t
                k = max(j for j in range(len(times)) if times[j] <= t)
                if k == len(times) - 1: return weights[k * n:(k + 1) * n]
                s = (t - times[k]) / (times[k + 1] - times[k])
                return [weights[k * n + i] * (1 - s) + weights[(k + 1) * n + i] * s for i in range(n)]
            mara = [i for i, name in enumerate(names) if name.startswith("mara.")]
            theo = [i for i, name in enumerate(names) if name.startswith("theo.")]
            print(n, len(mara), len(theo), "%.3f" % times[-1])
            print("t0", "%.4f" % max(at(0.0)))
            row = at(5.4); print("mara", "%.4f" % max(row[i] for i in mara), "%.4f" % max(row[i] for i in theo))
            """
        let result = try TestProcess.run("python3", ["-c", reader, glb])
        #expect(result.status == 0, "\(result.standardError)")
        let lines = result.standardOutput.split(separator: "\n").map(String.init)
        let counts = lines.first?.split(separator: " ").map(String.init) ?? []
        // Two characters with the 52 ARKit shapes each; the last line ends at 13.0 s, rest one frame later.
        #expect(counts == ["104", "52", "52", "13.033"])
        // Before anyone speaks, every weight rests at 0.
        #expect(lines.count > 1 && lines[1] == "t0 0.0000")
        // While only mara speaks (l2 runs 4.4 s to 6.4 s) she moves and theo rests.
        let mara = lines.count > 2 ? lines[2].split(separator: " ").map(String.init) : []
        #expect(mara.count == 3 && (Double(mara[1]) ?? 0) > 0.01 && mara[2] == "0.0000", "\(lines)")
    }

    @Test func killedAtAnyMomentThenRerunFinishesWithNoCorruptFile() throws {
        let folder = try Self.workspace(lines: 60)
        let clean = try Self.bake(folder, "clean", ["-j", "2"])
        #expect(clean.status == 0, "\(clean.standardError)")
        let reference = try Self.snapshot(folder.appendingPathComponent("clean"))
        let output = folder.appendingPathComponent("killed")
        // Kill with SIGKILL at several moments of the same batch, then let it finish.
        var killedWhileRunning = 0
        for delay in [0.3, 0.8, 1.5] {
            let process = Process()
            process.executableURL = TestPaths.emobakeBinary
            process.arguments = [
                "bake", folder.appendingPathComponent("script.csv").path, "--project", folder.appendingPathComponent("project.json").path,
                "-o", output.path, "-j", "2", "--force", "--quiet",
            ]
            process.standardError = FileHandle.nullDevice
            try process.run()
            Thread.sleep(forTimeInterval: delay)
            if process.isRunning {
                killedWhileRunning += 1
                kill(process.processIdentifier, SIGKILL)
            }
            process.waitUntilExit()
        }
        #expect(killedWhileRunning >= 2, "the batch finished before it could be killed: make it longer")
        let finish = try Self.bake(folder, "killed", ["-j", "2"])
        #expect(finish.status == 0, "\(finish.standardError)")
        let finished = try Self.snapshot(output)
        let differing = Set(finished.keys).union(reference.keys).filter { finished[$0] != reference[$0] }.sorted()
        #expect(differing.isEmpty, "files that differ from the clean run: \(differing)")
        // No temporary file is left anywhere.
        let leftovers = FileManager.default.enumerator(atPath: output.path)!.compactMap { $0 as? String }.filter {
            $0.split(separator: "/").last!.hasPrefix(".emobake-tmp-")
        }
        #expect(leftovers.isEmpty, "\(leftovers)")
    }

    @Test func shardsFromTheEnvironmentPlusMergeEqualOneRun() throws {
        let folder = try Self.workspace(lines: 20)
        #expect(try Self.bake(folder, "whole").status == 0)
        for index in 0..<3 {
            // A Kubernetes Indexed Job gives each pod its index in JOB_COMPLETION_INDEX.
            let shard = try Self.bake(folder, "sharded", ["--shard", "auto/3"], environment: ["JOB_COMPLETION_INDEX": String(index)])
            #expect(shard.status == 0, "\(shard.standardError)")
        }
        let merge = try TestProcess.emobake(["merge", folder.appendingPathComponent("sharded").path])
        #expect(merge.status == 0, "\(merge.standardError)")
        #expect(merge.standardError.contains("merged 20 lines (0 failed)"))
        #expect(try Self.snapshot(folder.appendingPathComponent("sharded")) == (try Self.snapshot(folder.appendingPathComponent("whole"))))
    }

    @Test func pathEscapesFailTheirLinesAndWriteNothingOutside() throws {
        let folder = try Self.workspace(lines: 3, template: "../{character}/{id}")
        let result = try Self.bake(folder, "out")
        #expect(result.status == 1)
        #expect(result.standardError.contains("contains \\\"..\\\": outputs must stay inside the output folder") || result.standardError.contains("contains \"..\": outputs must stay inside the output folder"))
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("mara").path))
        let report = try String(contentsOf: folder.appendingPathComponent("out/report.csv"), encoding: .utf8)
        #expect(report.split(separator: "\n").filter { $0.contains(",failed,") }.count == 3)
    }

    @Test func badInputsExitWithOneLine() throws {
        let folder = try Self.workspace(lines: 2)
        let missing = try TestProcess.emobake(["bake", folder.appendingPathComponent("nope.csv").path, "-o", folder.appendingPathComponent("o").path])
        #expect(missing.status == 1)
        #expect(missing.standardError == "emobake: \(folder.appendingPathComponent("nope.csv").path): cannot read script (no such file)\n")
        let shard = try Self.bake(folder, "o", ["--shard", "5/2"])
        #expect(shard.status == 2)
        #expect(shard.standardError.contains("shard index 5 must be 0 to 1"))
        try Data("{\"formats\": [\"png\"]}".utf8).write(to: folder.appendingPathComponent("project.json"))
        let project = try Self.bake(folder, "o")
        #expect(project.status == 1)
        #expect(project.standardError.contains("project.json: formats: unknown format \"png\""))
        let merge = try TestProcess.emobake(["merge", folder.appendingPathComponent("o").path])
        #expect(merge.status == 1 && merge.standardError.contains("no shard manifests"))
    }

    @Test func anUnknownRigPresetFailsOnlyThatCharactersLines() throws {
        let folder = try Self.workspace(lines: 4)
        let project = """
            {"formats": ["csv"], "characters": {"mara": {"rig": "nosuchrig"}, "theo": {"rig": "arkit52"}}}
            """
        try Data(project.utf8).write(to: folder.appendingPathComponent("project.json"))
        let result = try Self.bake(folder, "out")
        #expect(result.status == 1)
        let report = try String(contentsOf: folder.appendingPathComponent("out/report.csv"), encoding: .utf8)
        let rows = report.split(separator: "\n").dropFirst()
        #expect(rows.filter { $0.contains(",mara,") }.allSatisfy { $0.contains(",failed,") && $0.contains("nosuchrig") })
        #expect(rows.filter { $0.contains(",theo,") }.allSatisfy { $0.contains(",ok,") })
        #expect(rows.count == 4)
    }

    /// Audio lines through a real model: the tiny wav2vec2 fixture (random weights, so the
    /// emotions mean nothing, but every step from audio to files runs).
    @Test func audioLinesWithAModelAreDeterministicAndIncremental() throws {
        let folder = TestPaths.temporaryDirectory("bake-audio")
        let audio = TestPaths.fixtures.appendingPathComponent("demo/audio").path
        try Data("id,character,audio,emotion\na1,mara,\(audio)/dock_01.flac,angry\na2,theo,\(audio)/dock_02.flac,\na3,mara,\(audio)/hold_03.flac,\n".utf8)
            .write(to: folder.appendingPathComponent("script.csv"))
        let model = TestPaths.fixtures.appendingPathComponent("models/tiny-wav2vec2-base-dirichlet").path
        try Data("{\"model\": \"\(model)\", \"formats\": [\"csv\", \"glb\"]}".utf8).write(to: folder.appendingPathComponent("project.json"))
        let one = try Self.bake(folder, "j1", ["-j", "1"])
        #expect(one.status == 0, "\(one.standardError)")
        let two = try Self.bake(folder, "j2", ["-j", "2"])
        #expect(two.status == 0, "\(two.standardError)")
        let reference = try Self.snapshot(folder.appendingPathComponent("j1"))
        #expect(reference.keys.contains("mara/a1.glb"))
        #expect(try Self.snapshot(folder.appendingPathComponent("j2")) == reference)
        let manifest = try String(contentsOf: folder.appendingPathComponent("j1/manifest.json"), encoding: .utf8)
        #expect(manifest.contains("\"identifier\": \"tiny-wav2vec2-base-dirichlet\""))
        // a1 carries the hint "angry", which dominates its mixture.
        let report = try String(contentsOf: folder.appendingPathComponent("j1/report.csv"), encoding: .utf8)
        #expect(report.contains("a1,mara,,\(audio)/dock_01.flac,ok,,3.741,angry"))
        let again = try Self.bake(folder, "j1", ["--json"])
        #expect(again.standardOutput.contains("\"event\":\"finished\",\"baked\":0,\"cached\":3,\"failed\":0"))
    }

    /// The README's first bake: the demo script with audio made by espeak-ng.
    @Test func theDemoBakes() throws {
        let output = TestPaths.temporaryDirectory("demo")
        let result = try TestProcess.emobake(
            ["bake", "Fixtures/demo/script.csv", "--project", "Fixtures/demo/project.json", "-o", output.path],
            currentDirectory: TestPaths.repositoryRoot)
        let report = try String(contentsOf: output.appendingPathComponent("report.csv"), encoding: .utf8)
        let rows = report.split(separator: "\n").dropFirst()
        #expect(rows.count == 10)
        // The shipped default model hears every line.
        #expect(result.status == 0, "\(result.standardError)")
        #expect(rows.allSatisfy { $0.contains(",ok,") })
        #expect(FileManager.default.fileExists(atPath: output.appendingPathComponent("en/mara/dock_01.glb").path))
        #expect(FileManager.default.fileExists(atPath: output.appendingPathComponent("timelines/en/dock.glb").path))
        // dock_01 is spoken angrily-hinted ("angry" in the script): with the model's alpha
        // plus the hint's Dirichlet prior, angry is the line's dominant emotion.
        let hinted = rows.filter { $0.hasPrefix("dock_01,") }
        #expect(hinted.first?.hasSuffix(",angry") == true, "\(hinted)")
        // The default model has a sequence model, which hears the lines (mode auto).
        let manifest = try String(contentsOf: output.appendingPathComponent("manifest.json"), encoding: .utf8)
        #expect(manifest.contains("\"identifier\": \"emobake-sequence-dpo-v1\""), "\(manifest.prefix(600))")
        #expect(manifest.contains("\"mode\": \"sequence\""))
        let html = try String(contentsOf: output.appendingPathComponent("report.html"), encoding: .utf8)
        #expect(html.contains("audio heard by emobake-sequence-dpo-v1 (sequence)"))
    }

    /// The project's mode picks how lines are heard; changing it re-bakes them.
    @Test func theProjectModeChoosesSequenceOrWindows() throws {
        let folder = TestPaths.temporaryDirectory("bake-mode")
        let audio = TestPaths.fixtures.appendingPathComponent("demo/audio").path
        try Data("id,character,audio\na1,mara,\(audio)/dock_01.flac\n".utf8).write(to: folder.appendingPathComponent("script.csv"))
        func bake(_ project: String) throws -> (status: Int32, track: String, manifest: String, output: String) {
            try Data(project.utf8).write(to: folder.appendingPathComponent("project.json"))
            let result = try Self.bake(folder, "out", ["--json"])
            let csv = folder.appendingPathComponent("out/mara/a1.csv")
            return (
                result.status, (try? String(contentsOf: csv, encoding: .utf8)) ?? "",
                (try? String(contentsOf: folder.appendingPathComponent("out/manifest.json"), encoding: .utf8)) ?? "",
                result.standardOutput + result.standardError
            )
        }
        let sequence = try bake(#"{"formats": ["csv"]}"#)
        #expect(sequence.status == 0, "\(sequence.output)")
        #expect(sequence.manifest.contains("\"mode\": \"sequence\"") && sequence.manifest.contains("emobake-sequence-dpo-v1"))
        // The sequence model gives the same bytes on one kernel thread or two.
        let single = try Self.bake(folder, "j1", ["-j", "1"])
        #expect(single.status == 0)
        #expect(try String(contentsOf: folder.appendingPathComponent("j1/mara/a1.csv"), encoding: .utf8) == sequence.track)
        let windows = try bake(#"{"formats": ["csv"], "mode": "window"}"#)
        #expect(windows.status == 0, "\(windows.output)")
        #expect(windows.output.contains("\"baked\":1,\"cached\":0"), "switching the mode must re-bake: \(windows.output)")
        #expect(windows.manifest.contains("\"mode\": \"window\"") && !windows.manifest.contains("emobake-sequence"))
        #expect(windows.track != sequence.track && !windows.track.isEmpty)
        // A window length also means windows under "auto"; a second run is cached.
        let sized = try bake(#"{"formats": ["csv"], "window": 1.0}"#)
        #expect(sized.manifest.contains("\"mode\": \"window\""))
        #expect(try bake(#"{"formats": ["csv"], "window": 1.0}"#).output.contains("\"baked\":0,\"cached\":1"))
        // A Stage 1 model without a sequence model cannot hear in sequence mode: one line's error.
        let stageOne = TestPaths.fixtures.appendingPathComponent("models/tiny-wav2vec2-base-dirichlet").path
        let refused = try bake(#"{"formats": ["csv"], "mode": "sequence", "model": "\#(stageOne)"}"#)
        #expect(refused.status == 1)
        #expect(refused.output.contains("no sequence/ subfolder"), "\(refused.output)")
    }
}
