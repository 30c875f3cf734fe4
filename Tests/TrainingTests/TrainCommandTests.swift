import Foundation
import JSONIO
import TestSupport
import Testing

/// The built `emobake` binary end to end: train, eval and predict on clips made with sox.
@Suite(.serialized) struct TrainCommandTests {
    /// Nine 1.2 s clips: "neutral" steady tones, "happy" rising sweeps, "angry" falling
    /// sweeps, three speakers; speaker s3 validates.
    static func makeData() throws -> URL {
        let folder = TestPaths.temporaryDirectory("train-cli")
        var rows = ["path,label,speaker"]
        for (label, synth) in [("neutral", ["sine", "600"]), ("happy", ["sine", "300-3000"]), ("angry", ["sine", "3000-300"])] {
            for speaker in 1...3 {
                let name = "\(label)-\(speaker).wav"
                let result = try TestProcess.run(
                    "sox", ["-n", "-r", "16000", "-c", "1", "-b", "16", folder.appendingPathComponent(name).path, "synth", "1.2"] + synth + ["vol", "0.\(3 + speaker)"])
                #expect(result.status == 0, "sox: \(result.standardError)")
                rows.append("\(name),\(label),s\(speaker)")
            }
        }
        try (rows.joined(separator: "\n") + "\n").write(to: folder.appendingPathComponent("labels.csv"), atomically: true, encoding: .utf8)
        return folder
    }

    @Test func trainEvalAndPredictWithTheTrainedModel() throws {
        let data = try Self.makeData()
        defer { try? FileManager.default.removeItem(at: data) }
        let model = data.appendingPathComponent("model")
        let train = try TestProcess.emobake([
            "train", "classifier", "--data", data.appendingPathComponent("labels.csv").path, "--loss", "dirichlet",
            "--emotions", "neutral,happy,angry", "--validation-speakers", "s3", "--epochs", "2", "--batch-size", "3", "-o", model.path,
            "--json", "-j", "1", "--identifier", "studio-test-7",
        ])
        #expect(train.status == 0, "\(train.standardError)")
        let summary = try JSONCodec.parse(Data(train.standardOutput.utf8), source: "stdout")
        #expect(summary["train_clips"]?.intValue == 6)
        #expect(summary["validation_clips"]?.intValue == 3)
        #expect(summary["history"]?.arrayValue?.count == 2)
        #expect(summary["validation"]?["unweighted_accuracy"]?.doubleValue != nil)
        for file in ["config.json", "model.safetensors", "training.json", "MODEL_CARD.md", "checkpoint/state.json"] {
            #expect(FileManager.default.fileExists(atPath: model.appendingPathComponent(file).path), "\(file) missing")
        }

        let eval = try TestProcess.emobake([
            "eval", "classifier", "--model", model.path, "--data", data.appendingPathComponent("labels.csv").path, "--speakers", "s3", "--json",
        ])
        #expect(eval.status == 0, "\(eval.standardError)")
        let figures = try JSONCodec.parse(Data(eval.standardOutput.utf8), source: "stdout")
        #expect(figures["clips"]?.intValue == 3)
        // The last epoch's validation is the saved model scored the same way.
        #expect(figures["accuracy"] == summary["validation"]?["accuracy"])
        #expect(figures["confusion"]?.arrayValue?.count == 3)

        let track = data.appendingPathComponent("track.json")
        let predict = try TestProcess.emobake(["predict", data.appendingPathComponent("happy-1.wav").path, "--model", model.path, "-o", track.path])
        #expect(predict.status == 0, "\(predict.standardError)")
        #expect(try String(contentsOf: track, encoding: .utf8).contains("\"studio-test-7\""), "the track names the model")

        // Resuming a finished run trains nothing more and writes the same model.
        let before = try Data(contentsOf: model.appendingPathComponent("model.safetensors"))
        let resumed = try TestProcess.emobake([
            "train", "classifier", "--data", data.appendingPathComponent("labels.csv").path, "--loss", "dirichlet",
            "--emotions", "neutral,happy,angry", "--validation-speakers", "s3", "--epochs", "2", "--batch-size", "3", "-o", model.path,
            "--resume", "--quiet", "-j", "1", "--identifier", "studio-test-7",
        ])
        #expect(resumed.status == 0, "\(resumed.standardError)")
        #expect(try Data(contentsOf: model.appendingPathComponent("model.safetensors")) == before)
    }

    @Test func badUsageAndBadDataFailWithOneLine() throws {
        let usage = try TestProcess.emobake(["train", "classifier", "--data", "x", "--loss", "hinge", "-o", "/tmp/unused"])
        #expect(usage.status == 2)
        #expect(usage.standardError.contains("--loss must be dirichlet or ce"))
        for (arguments, message) in [
            (["--loss", "ce", "--teacher", "models/ce"], "--teacher applies to --loss dirichlet"),
            (["--epochs", "5", "--average-epochs", "6"], "--average-epochs must be 0 to --epochs (5)"),
            (["--emotions", "neutral,joyful"], "joyful is not a canonical emotion name"),
            (["--identifier", "my model"], "--identifier must be 1-100 characters"),
        ] {
            let refused = try TestProcess.emobake(["train", "classifier", "--data", "x", "-o", "/tmp/unused"] + arguments)
            #expect(refused.status == 2 && refused.standardError.contains(message), "\(arguments): \(refused.standardError)")
        }
        let badTeacher = try TestProcess.emobake(["train", "classifier", "--data", "x", "--teacher", "/nonexistent/teacher", "-o", "/tmp/unused-model"])
        #expect(badTeacher.status == 1 && badTeacher.standardError.contains("/nonexistent/teacher"), "\(badTeacher.standardError)")
        let missing = try TestProcess.emobake(["train", "classifier", "--data", "/nonexistent/ravdess", "-o", "/tmp/unused-model"])
        #expect(missing.status == 1)
        #expect(missing.standardError.contains("/nonexistent/ravdess: no such file or folder"))
        #expect(missing.standardError.split(separator: "\n").count == 1)
        #expect(!FileManager.default.fileExists(atPath: "/tmp/unused-model"))
        let help = try TestProcess.emobake(["train", "--help"])
        for command in ["classifier", "head", "recalibrate", "bench"] { #expect(help.standardOutput.contains(command)) }
        let evalHelp = try TestProcess.emobake(["eval", "--help"])
        for command in ["classifier", "speed"] { #expect(evalHelp.standardOutput.contains(command)) }
    }
}
