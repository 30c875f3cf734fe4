import Common
import Foundation
import Testing
import TestSupport

@testable import Batch

@Suite("Shards, merge, reports and timelines")
struct ShardAndReportTests {
    @Test func shardsPlusMergeEqualOneRun() throws {
        let scripts = try BatchFixture.copyOfScripts()
        let script = try BatchRunnerTests().makeLongScript(in: scripts, lines: 30)
        let whole = scripts.deletingLastPathComponent().appendingPathComponent("whole")
        let sharded = scripts.deletingLastPathComponent().appendingPathComponent("sharded")
        _ = try BatchFixture.run(script, output: whole, jobs: 2)
        // Temporary files of a killed merge (in the root) and of a killed shard (in its folder).
        let mergeLeftover = sharded.appendingPathComponent(".emobake-tmp-9-9-manifest.json")
        let shardLeftover = sharded.appendingPathComponent("shards/0-of-3/.emobake-tmp-9-9-report.csv")
        try FileManager.default.createDirectory(at: shardLeftover.deletingLastPathComponent(), withIntermediateDirectories: true)
        for file in [mergeLeftover, shardLeftover] { try Data("half".utf8).write(to: file) }
        var counts: [Int] = []
        for index in 0..<3 {
            let summary = try BatchFixture.run(script, output: sharded, jobs: 2, shard: try Shard(index: index, count: 3))
            counts.append(summary.results.count)
            #expect(FileManager.default.fileExists(atPath: sharded.appendingPathComponent("shards/\(index)-of-3/manifest.json").path))
        }
        #expect(counts.reduce(0, +) == 30)
        #expect(counts.allSatisfy { $0 > 0 })
        // A shard cleans its own folder only: the root's files are the merge's.
        #expect(!FileManager.default.fileExists(atPath: shardLeftover.path))
        #expect(FileManager.default.fileExists(atPath: mergeLeftover.path))
        let merged = try BatchMerger.merge(output: try OutputFolder(sharded))
        #expect(!FileManager.default.fileExists(atPath: mergeLeftover.path))
        #expect(merged.lines.count == 30)
        var shardedFiles = try BatchFixture.snapshot(sharded)
        for key in shardedFiles.keys where key.hasPrefix("shards/") { shardedFiles[key] = nil }
        #expect(shardedFiles == (try BatchFixture.snapshot(whole)))
    }

    @Test func mergeRefusesIncompleteOrMixedShards() throws {
        let scripts = try BatchFixture.copyOfScripts()
        let output = scripts.deletingLastPathComponent().appendingPathComponent("out")
        let script = scripts.appendingPathComponent("lines.csv")
        #expect(throws: BatchError.self) { try BatchMerger.merge(output: try OutputFolder(output)) }
        _ = try BatchFixture.run(script, output: output, shard: try Shard(index: 1, count: 2))
        let missing = #expect(throws: BatchError.self) { try BatchMerger.merge(output: try OutputFolder(output)) }
        #expect(missing?.message.contains("shard 0/2 not baked yet") == true)
        _ = try BatchFixture.run(script, output: output, baker: TestBaker(settingsText: "other"), shard: try Shard(index: 0, count: 2))
        // Same script and project, other settings text only changes keys: merge works, and a
        // different script does not.
        _ = try BatchMerger.merge(output: try OutputFolder(output))
        let other = scripts.appendingPathComponent("lines.tsv")
        _ = try BatchFixture.run(other, output: output, shard: try Shard(index: 0, count: 2))
        let mismatch = #expect(throws: BatchError.self) { try BatchMerger.merge(output: try OutputFolder(output)) }
        #expect(mismatch?.code == "merge.mismatch")
    }

    @Test(arguments: [
        ("0/4", [:], 0, 4), ("3/4", [:], 3, 4), ("auto/4", ["JOB_COMPLETION_INDEX": "2"], 2, 4),
        ("auto/8", ["SLURM_ARRAY_TASK_ID": "7"], 7, 8),
        ("auto/8", ["JOB_COMPLETION_INDEX": "1", "SLURM_ARRAY_TASK_ID": "7"], 1, 8),
    ])
    func shardsParse(_ text: String, _ environment: [String: String], _ index: Int, _ count: Int) throws {
        #expect(try Shard.parse(text, environment: environment) == (try Shard(index: index, count: count)))
    }

    @Test(arguments: ["4/4", "-1/4", "1", "a/b", "auto/4", "0/0"])
    func badShardsAreRefused(_ text: String) {
        #expect(throws: BatchError.self) { try Shard.parse(text, environment: [:]) }
    }

    @Test func sceneLinesShareAShard() throws {
        let script = try DialogueScript.load(BatchFixture.scripts.appendingPathComponent("lines.csv"))
        let planned = BatchPlanner.plan(script: script, project: BakeProject())
        #expect(planned[0].shardKey == "scene:en/intro" && planned[1].shardKey == planned[0].shardKey)
        #expect(planned[3].shardKey == "line:hall_01")
    }

    @Test func sceneTimelinesValidateAgainstTheirSchema() throws {
        let scripts = try BatchFixture.copyOfScripts()
        let output = scripts.deletingLastPathComponent().appendingPathComponent("out")
        _ = try BatchFixture.run(scripts.appendingPathComponent("lines.csv"), output: output)
        let timeline = output.appendingPathComponent("timelines/en/intro.xml")
        let schema = TestPaths.repositoryRoot.appendingPathComponent("Sources/Batch/scene-timeline.xsd")
        let lint = try TestProcess.run("xmllint", ["--noout", "--schema", schema.path, timeline.path])
        #expect(lint.status == 0, "\(lint.standardError)")
        let starts = try TestProcess.run("xmllint", ["--xpath", "//clip/@start", timeline.path])
        #expect(starts.standardOutput.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) } == [
            "start=\"0.000\"", "start=\"4.250\"", "start=\"2.500\"",
        ])
        let ends = try TestProcess.run("xmllint", ["--xpath", "string(//clip[@id='intro_03']/@end)", timeline.path])
        #expect(ends.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines) == "6.250")
        // Frames are placed on the scene's clock: intro_02's first frame at its start.
        let frame = try TestProcess.run("xmllint", ["--xpath", "string(//clip[@id='intro_02']/frame[1]/@time)", timeline.path])
        #expect(frame.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines) == "2.500")
        // A broken timeline is caught by the schema (the check is not vacuous).
        let broken = output.appendingPathComponent("broken.xml")
        try Data(try BatchFixture.text(timeline).replacingOccurrences(of: "start=\"2.500\"", with: "start=\"-1\"").utf8).write(to: broken)
        #expect(try TestProcess.run("xmllint", ["--noout", "--schema", schema.path, broken.path]).status != 0)
    }

    @Test func reportHTMLRendersInChromium() throws {
        let scripts = try BatchFixture.copyOfScripts()
        let output = scripts.deletingLastPathComponent().appendingPathComponent("out")
        let script = scripts.appendingPathComponent("with-audio.csv")
        try Data("x".utf8).write(to: scripts.appendingPathComponent("voice one.wav"))
        try Data("""
            id,character,audio,track,text
            l1,alice,voice one.wav,tracks/happy_to_surprise.json,"Hello, <b>Bob</b>"
            l2,bob,,tracks/sad_to_neutral.json,Hi
            l3,bob,missing.wav,,Oops

            """.utf8).write(to: script)
        _ = try BatchFixture.run(script, output: output)
        let page = "file://" + output.appendingPathComponent("report.html").path
        let dom = try chromiumDOM(page)
        #expect(dom.components(separatedBy: "<tr class=\"ok\"").count - 1 == 2)
        #expect(dom.components(separatedBy: "<tr class=\"failed\"").count - 1 == 1)
        #expect(dom.components(separatedBy: "<polygon").count - 1 == 14)
        #expect(dom.contains("<audio controls=\"\" preload=\"none\" src=\"../scripts/voice%20one.wav\">"))
        #expect(dom.contains("Hello, &lt;b&gt;Bob&lt;/b&gt;"))
        // The page's script runs: the filter in the address hides the rows without "alice".
        let filtered = try chromiumDOM(page + "#filter=alice")
        #expect(filtered.components(separatedBy: "style=\"display: none;\"").count - 1 == 2)
    }

    func chromiumDOM(_ url: String) throws -> String {
        let result = try TestProcess.run(
            "chromium-headless-shell", ["--no-sandbox", "--disable-gpu", "--virtual-time-budget=2000", "--dump-dom", url])
        #expect(result.status == 0, "\(result.standardError)")
        return result.standardOutput
    }
}
