import Foundation
import Testing
import TestSupport

/// `emobake predict` as users run it: the built binary, a sox-made file, a fixture model.
@Suite("emobake predict")
struct PredictCommandTests {
    let folder = TestPaths.temporaryDirectory("predict")
    var model: String { TestPaths.fixtures.appendingPathComponent("models/tiny-wav2vec2-base-dirichlet").path }

    func audio(_ name: String, seconds: Double) throws -> String {
        let path = folder.appendingPathComponent(name).path
        let made = try TestProcess.run("sox", ["-n", "-r", "22050", "-c", "2", "-b", "16", path, "synth", "\(seconds)", "sine", "300-900", "sine", "500"])
        #expect(made.status == 0)
        return path
    }

    @Test func writesATrackWithOneFramePerWindow() throws {
        let input = try audio("line.wav", seconds: 2.3)
        let output = folder.appendingPathComponent("line.json").path
        let result = try TestProcess.emobake(["predict", input, "--model", model, "--window", "1", "--hop", "0.25", "-o", output, "--json"])
        #expect(result.status == 0, "\(result.standardError)")
        let track = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: output))) as? [String: Any])
        #expect(track["format"] as? String == "emobake-track")
        #expect(track["source"] as? String == "line.wav")
        #expect((track["emotions"] as? [String])?.count == 7)
        // Windows start every 0.25 s while they fit (0 ... 1.25 s), then one ends at 2.3 s.
        #expect(track["times"] as? [Double] == [0.5, 0.75, 1, 1.25, 1.5, 1.75, 1.8])
        let alpha = try #require(track["alpha"] as? [[Double]])
        #expect(alpha.count == 7 && alpha.allSatisfy { $0.count == 7 && $0.allSatisfy { $0 > 0 } })
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
        #expect(summary["frames"] as? Int == 7)
        // Same input, same bytes.
        let again = folder.appendingPathComponent("again.json").path
        #expect(try TestProcess.emobake(["predict", input, "--model", model, "-o", again, "--quiet"]).status == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: again)) == Data(contentsOf: URL(fileURLWithPath: output)))
    }

    @Test func theModeFollowsTheModelFolder() throws {
        // A Stage 1 folder with a sequence/ subfolder (as the shipped default): the sequence model
        // by default, sliding windows with --mode window; a folder without one: windows.
        let stageOne = folder.appendingPathComponent("stage1")
        try? FileManager.default.removeItem(at: stageOne)
        try FileManager.default.copyItem(at: URL(fileURLWithPath: model), to: stageOne)
        try FileManager.default.copyItem(
            at: TestPaths.fixtures.appendingPathComponent("review/tiny-pooled-sequence-model"), to: stageOne.appendingPathComponent("sequence"))
        let input = try audio("modes.wav", seconds: 2.0)
        func mode(_ arguments: [String]) throws -> String? {
            let output = folder.appendingPathComponent("modes.json").path
            let result = try TestProcess.emobake(["predict", input, "-o", output, "--json"] + arguments)
            #expect(result.status == 0, "\(result.standardError)")
            let summary = try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any]
            return summary?["mode"] as? String
        }
        #expect(try mode(["--model", stageOne.path]) == "sequence")
        #expect(try mode(["--model", stageOne.path, "--mode", "window"]) == "window")
        #expect(try mode(["--model", model]) == "window")
        #expect(try mode(["--model", model, "--mode", "auto"]) == "window")
    }

    @Test func compactModelsHearTwoSecondWindowsUnlessToldOtherwise() throws {
        // The shipped default's Stage 1 model is a compact model: 2 s windows by default.
        let input = try audio("compact.wav", seconds: 3.0)
        func times(_ arguments: [String]) throws -> [Double]? {
            let output = folder.appendingPathComponent("compact.json").path
            let result = try TestProcess.emobake(["predict", input, "--mode", "window", "-o", output, "--quiet"] + arguments)
            #expect(result.status == 0, "\(result.standardError)")
            let track = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: output))) as? [String: Any]
            return track?["times"] as? [Double]
        }
        #expect(try times([]) == [1, 1.25, 1.5, 1.75, 2])
        #expect(try times(["--window", "1", "--hop", "0.5"]) == [0.5, 1, 1.5, 2, 2.5])
    }

    @Test func aShortClipIsOneFrameAndCSVWorks() throws {
        let input = try audio("short.wav", seconds: 0.6)
        let output = folder.appendingPathComponent("short.csv").path
        let result = try TestProcess.emobake(["predict", input, "--model", model, "-o", output, "--quiet"])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.isEmpty)
        let lines = try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines[1].hasPrefix("0.300000,"))
    }

    @Test func badUsageExitsTwo() throws {
        let input = try audio("usage.wav", seconds: 0.5)
        for arguments in [["predict"], ["predict", input, "--model", model], ["predict", input, "-o", "x.txt"], ["predict", input, "--hop", "0", "-o", "x.json"]] {
            let result = try TestProcess.emobake(arguments)
            #expect(result.status == 2, "\(arguments): \(result.standardError)")
        }
    }

    @Test func failedWorkExitsOneWithOneLine() throws {
        let missing = folder.appendingPathComponent("missing.wav").path
        let output = folder.appendingPathComponent("none.json").path
        let result = try TestProcess.emobake(["predict", missing, "--model", model, "-o", output])
        #expect(result.status == 1)
        #expect(result.standardError == "emobake: \(missing): no such file\n")
        #expect(!FileManager.default.fileExists(atPath: output))
        let noDefault = try TestProcess.emobake(
            ["predict", try audio("default.wav", seconds: 0.5), "--presets", folder.path, "-o", output])
        #expect(noDefault.status == 1)
        #expect(noDefault.standardError.contains("no default model is installed"), "\(noDefault.standardError)")
    }
}
