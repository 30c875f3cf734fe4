import Foundation
import Testing
import TestSupport

/// Stages 2 and 3 through the command line, on a few tone clips and the tiny compact fixture
/// model as the Stage 1 teacher: dialogues -> train sequence -> predict --mode sequence ->
/// review make -> review simulate -> train dpo -> eval sequence. Seconds, not minutes.
@Suite("emobake Stage 2/3 pipeline", .serialized)
struct ReviewPipelineTests {
    let folder = TestPaths.temporaryDirectory("pipeline")
    var teacher: String { TestPaths.fixtures.appendingPathComponent("training/compact-tiny").path }

    /// Seven emotions x two speakers of 1.2 s tones (pitch by emotion), listed in labels.csv.
    func makeData() throws -> String {
        let emotions = ["neutral", "happy", "sad", "angry", "fear", "disgust", "surprise"]
        var rows = ["path,label,speaker"]
        for speaker in 1...2 {
            for (index, emotion) in emotions.enumerated() {
                let name = "s\(speaker)_\(emotion).wav"
                let frequency = 180 + 90 * index + 20 * speaker
                let made = try TestProcess.run(
                    "sox", ["-n", "-r", "16000", "-c", "1", "-b", "16", folder.appendingPathComponent(name).path, "synth", "1.2", "sine", "\(frequency)", "pad", "0.2", "0.2"])
                #expect(made.status == 0)
                rows.append("\(name),\(emotion),\(speaker)")
            }
        }
        let csv = folder.appendingPathComponent("labels.csv")
        try Data((rows.joined(separator: "\n") + "\n").utf8).write(to: csv)
        return csv.path
    }

    func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test func theWholePipelineRuns() throws {
        let data = try makeData()
        let path = { (name: String) in folder.appendingPathComponent(name).path }

        let dialogues = try TestProcess.emobake(["dialogues", "--data", data, "--speakers", "1", "--count", "3", "--seed", "4", "-o", path("dialogues")])
        #expect(dialogues.status == 0, "\(dialogues.standardError)")
        let manifest = try json(String(contentsOfFile: path("dialogues/manifest.json"), encoding: .utf8))
        #expect((manifest["dialogues"] as? [[String: Any]])?.count == 3)
        #expect(FileManager.default.fileExists(atPath: path("dialogues/dialogue_0002.truth.json")))

        let trained = try TestProcess.emobake([
            "train", "sequence", "--teacher", teacher, "--data", data, "--speakers", "1-2", "--dialogues", "4", "--dev-dialogues", "2",
            "--epochs", "2", "--batch-size", "2", "--crop", "1", "-o", path("sequence"), "--json",
        ])
        #expect(trained.status == 0, "\(trained.standardError)")
        let summary = try json(trained.standardOutput)
        #expect((summary["history"] as? [[String: Any]])?.count == 2)
        #expect(summary["stage"] as? String == "sequence")
        #expect((summary["settings"] as? [String: Any])?["loss"] as? String == "dirichlet")

        let predicted = try TestProcess.emobake([
            "predict", path("dialogues/dialogue_0000.wav"), "--mode", "sequence", "--model", path("sequence"), "-o", path("track.json"), "--json",
        ])
        #expect(predicted.status == 0, "\(predicted.standardError)")
        let track = try json(String(contentsOfFile: path("track.json"), encoding: .utf8))
        let times = try #require(track["times"] as? [Double])
        // By default the model starts as the teacher over windows: a window mean, local
        // normalisation, one frame per pooled step of the backbone.
        let config = try json(String(contentsOfFile: path("sequence/config.json"), encoding: .utf8))
        let rate = try #require(config["frame_rate"] as? Double)
        #expect((config["window_pool_frames"] as? Int ?? 0) > 1 && (config["normalisation_frames"] as? Int ?? 0) > 0)
        #expect(times.count > 5 && abs(times[1] - times[0] - 1 / rate) < 1e-6, "frame rate \(rate), times \(times.prefix(3))")

        let review = try TestProcess.emobake(["review", "make", "--clips", path("dialogues"), "--model", path("sequence"), "-o", path("review")])
        #expect(review.status == 0, "\(review.standardError)")
        let simulated = try TestProcess.emobake(["review", "simulate", path("review"), "-o", path("review/preferences.jsonl")])
        #expect(simulated.status == 0, "\(simulated.standardError)")

        let dpo = try TestProcess.emobake([
            "train", "dpo", "--model", path("sequence"), "--preferences", path("review/preferences.jsonl"), "--epochs", "1", "--learning-rate", "1e-5",
            "-o", path("dpo"), "--json",
        ])
        #expect(dpo.status == 0, "\(dpo.standardError)")
        let dpoSummary = try json(dpo.standardOutput)
        #expect(dpoSummary["simulated_pairs"] as? Int == dpoSummary["pairs"] as? Int)
        #expect((dpoSummary["annotators"] as? String)?.contains("simulated annotator, not people") == true)

        let evaluated = try TestProcess.emobake([
            "eval", "sequence", "--data", data, "--speakers", "2", "--dialogues", "2", "--windows", "0.5,1", "--model", "sliding window=\(teacher)",
            "--model", "sequence model=\(path("sequence"))", "--model", "sequence + DPO=\(path("dpo"))", "--json",
        ])
        #expect(evaluated.status == 0, "\(evaluated.standardError)")
        let table = try json(evaluated.standardOutput)
        let rows = try #require(table["rows"] as? [[String: Any]])
        #expect(rows.map { $0["method"] as? String } == ["sliding window 0.5 s", "sliding window 1 s", "sequence model", "sequence + DPO"])
        #expect(rows.allSatisfy { ($0["mae"] as? Double).map { $0 >= 0 && $0 <= 2 } == true && $0["column"] as? String == "Dirichlet" })
        #expect(rows[3]["preferences"] as? String == "simulated-ground-truth (simulated annotator, not people)")
        #expect(rows[2]["preferences"] == nil)
        // The same command, the same table (the dialogues are seeded).
        let again = try TestProcess.emobake([
            "eval", "sequence", "--data", data, "--speakers", "2", "--dialogues", "2", "--windows", "0.5,1", "--model", "sliding window=\(teacher)",
            "--model", "sequence model=\(path("sequence"))", "--model", "sequence + DPO=\(path("dpo"))", "--json",
        ])
        #expect(again.standardOutput == evaluated.standardOutput)

        // The text table names the simulated annotator too.
        let text = try TestProcess.emobake([
            "eval", "sequence", "--data", data, "--speakers", "2", "--dialogues", "1", "--windows", "1", "--model", "sequence + DPO=\(path("dpo"))",
        ])
        #expect(text.status == 0 && text.standardOutput.contains("simulated annotator") && text.standardOutput.contains(" *"))
    }

    @Test func badInputIsOneLine() throws {
        let data = try makeData()
        let both = try TestProcess.emobake(["train", "sequence", "--teacher", teacher, "--data", data, "--audio", data, "-o", folder.appendingPathComponent("x").path])
        #expect(both.status == 2)
        #expect(both.standardError.contains("give either --data"))
        let missing = try TestProcess.emobake([
            "train", "dpo", "--model", teacher, "--preferences", folder.appendingPathComponent("none.jsonl").path, "-o", folder.appendingPathComponent("y").path,
        ])
        #expect(missing.status == 1)
        #expect(missing.standardError.contains("not a sequence model and has no sequence/ subfolder"))
        #expect(missing.standardError.split(separator: "\n").count == 1)
        let badModel = try TestProcess.emobake(["eval", "sequence", "--data", data, "--speakers", "2", "--model", folder.appendingPathComponent("nothing").path])
        #expect(badModel.status == 1)
        #expect(badModel.standardError.split(separator: "\n").count == 1)
        let predict = try TestProcess.emobake(["predict", data, "--mode", "fast", "-o", folder.appendingPathComponent("t.json").path])
        #expect(predict.status == 2)
        #expect(predict.standardError.contains("--mode must be auto, sequence or window"))
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("y").path))
    }
}
