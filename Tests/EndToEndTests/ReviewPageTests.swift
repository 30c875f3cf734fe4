import Foundation
import Testing
import TestSupport

/// `emobake review make / simulate / serve`, with the page driven in headless Chromium the
/// way a person uses it (Fixtures/review/drive_review_page.py: real mouse clicks, typing,
/// the browser's own download).
@Suite("emobake review", .serialized)
struct ReviewPageTests {
    let folder = TestPaths.temporaryDirectory("review")
    static let emotions = #"["neutral","happy","sad","angry","fear","disgust","surprise"]"#
    var driver: String { TestPaths.fixtures.appendingPathComponent("review/drive_review_page.py").path }

    /// Two tone clips and a model-like track for each.
    func makeInputs() throws -> (clips: [String], tracks: [String]) {
        var clips: [String] = [], tracks: [String] = []
        for (name, seconds, frequency) in [("one", 1.6, 300), ("two", 1.2, 500)] {
            let clip = folder.appendingPathComponent("\(name).wav").path
            #expect(try TestProcess.run("sox", ["-n", "-r", "16000", "-c", "1", "-b", "16", clip, "synth", "\(seconds)", "sine", "\(frequency)"]).status == 0)
            clips.append(clip)
        }
        let one = """
            {"emotions":\(Self.emotions),"times":[0,0.4,0.8,1.2,1.6],"alpha":[[5,1,1,1,1,1,1],[3,3,1,1,1,1,1],[1,6,1,1,1,1,1],[1,4,1,1,1,1,3],[1,1,1,1,1,1,6]]}
            """
        let two = """
            {"emotions":\(Self.emotions),"times":[0,0.6,1.2],"alpha":[[1,1,6,1,1,1,1],[1,1,3,4,1,1,1],[1,1,1,8,1,1,1]]}
            """
        for (name, text) in [("one", one), ("two", two)] {
            let path = folder.appendingPathComponent("\(name).track.json").path
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            tracks.append(path)
        }
        return (clips, tracks)
    }

    func makeReview(_ output: String, pairs: Int = 2) throws -> ProcessResult {
        let (clips, tracks) = try makeInputs()
        return try TestProcess.emobake(["review", "make", "--clips"] + clips + ["--tracks"] + tracks + ["--pairs-per-clip", "\(pairs)", "-o", output])
    }

    func lines(_ text: String) throws -> [[String: Any]] {
        try text.split(separator: "\n").map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
    }

    func drive(_ url: String, downloads: URL, choose: String, export: Bool) throws -> [String: Any] {
        try FileManager.default.createDirectory(at: downloads, withIntermediateDirectories: true)
        let result = try TestProcess.run(
            "python3", [driver, url, downloads.path, "--name", "Test Reviewer", "--choose", choose] + (export ? ["--export"] : []))
        #expect(result.status == 0, "\(result.standardError)")
        return try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
    }

    @Test func makeWritesAFolderAndTheSameBytesTwice() throws {
        let output = folder.appendingPathComponent("review").path
        let result = try makeReview(output)
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.contains("4 pairs from 2 clips, 5 candidates each"))
        let root = URL(fileURLWithPath: output)
        for path in ["index.html", "review.json", "audio/one.wav", "audio/two.wav", "candidates/one/c4.json", "candidates/two/c0.json"] {
            #expect(FileManager.default.fileExists(atPath: root.appendingPathComponent(path).path), "\(path)")
        }
        let page = try String(contentsOf: root.appendingPathComponent("index.html"), encoding: .utf8)
        #expect(!page.contains("http://") && !page.contains("https://"), "the page must not load anything from the network")
        #expect(!page.contains("temperature:"), "people must not see how a candidate was made")
        let again = folder.appendingPathComponent("again").path
        #expect(try makeReview(again).status == 0)
        for path in ["index.html", "review.json", "candidates/one/c3.json"] {
            #expect(
                try Data(contentsOf: root.appendingPathComponent(path))
                    == Data(contentsOf: URL(fileURLWithPath: again).appendingPathComponent(path)), "\(path)")
        }
    }

    @Test func embeddedAudioMakesOneFile() throws {
        let (clips, tracks) = try makeInputs()
        let output = folder.appendingPathComponent("embedded").path
        let result = try TestProcess.emobake(["review", "make", "--clips"] + clips + ["--tracks"] + tracks + ["--embed-audio", "-o", output])
        #expect(result.status == 0, "\(result.standardError)")
        let page = try String(contentsOfFile: output + "/index.html", encoding: .utf8)
        #expect(page.components(separatedBy: "data:audio/wav;base64,UklGR").count - 1 == 2)
        #expect(!FileManager.default.fileExists(atPath: output + "/audio"))
    }

    @Test func aPersonChoosesInChromiumAndExportsThePreferencesFile() throws {
        let output = folder.appendingPathComponent("review").path
        #expect(try makeReview(output).status == 0)
        let report = try drive("file://" + output + "/index.html", downloads: folder.appendingPathComponent("downloads"), choose: "A,B,B,A", export: true)
        #expect(report["pairs"] as? Int == 4)
        #expect(report["progressBefore"] as? String == "0 of 4 pairs chosen")
        #expect(report["progressAfter"] as? String == "4 of 4 pairs chosen")
        // Seeking to 0.75 s of the 1.6 s clip moves both cursors to 0.75 / 1.6 of the width.
        #expect(report["cursor"] as? [String] == ["0.4688", "0.4688"])
        #expect(report["statusWithoutName"] as? String == "enter your name first: the preferences file records who chose")
        #expect(report["chosenSides"] as? [String] == ["A", "B", "B", "A"])
        let download = try #require(report["download"] as? [String: Any])
        #expect(download["suggestedFilename"] as? String == "preferences.jsonl")
        // The exported file, as the browser saved it: one line per choice, in the Preference format.
        let contents = try #require(report["contents"] as? String)
        let exported = try lines(contents)
        #expect(exported.count == 4)
        let manifest = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: output).appendingPathComponent("review.json"))) as? [String: Any])
        let pairs = try #require(manifest["pairs"] as? [[String: Any]])
        let clips = try #require(manifest["clips"] as? [[String: Any]])
        for (index, (line, side)) in zip(exported, [0, 1, 1, 0]).enumerated() {
            #expect(line.keys.sorted() == ["annotator", "candidates", "chosen", "clip", "pair"])
            #expect(line["annotator"] as? String == "Test Reviewer")
            #expect(line["chosen"] as? Int == side)
            let pair = pairs[index]
            let clip = clips[pair["clip"] as! Int]
            let candidates = clip["candidates"] as! [[String: Any]]
            #expect(line["pair"] as? String == pair["id"] as? String)
            #expect(line["clip"] as? String == clip["audio"] as? String)
            #expect(
                line["candidates"] as? [String]
                    == [candidates[pair["left"] as! Int]["path"] as! String, candidates[pair["right"] as! Int]["path"] as! String])
            for path in line["candidates"] as! [String] {
                #expect(FileManager.default.fileExists(atPath: output + "/" + path))
            }
        }
        #expect(contents.hasPrefix(#"{"pair":"#) && contents.hasSuffix("}\n"))
    }

    @Test func simulateJudgesEveryPairAndSaysItIsSimulated() throws {
        let output = folder.appendingPathComponent("review").path
        #expect(try makeReview(output).status == 0)
        // Truth for clip "one" = its mean candidate's track, so that candidate must win every pair.
        let candidate = URL(fileURLWithPath: output).appendingPathComponent("candidates/one/c0.json")
        try FileManager.default.copyItem(at: candidate, to: folder.appendingPathComponent("one.truth.json"))
        try FileManager.default.copyItem(
            at: URL(fileURLWithPath: output).appendingPathComponent("candidates/two/c2.json"), to: folder.appendingPathComponent("two.truth.json"))
        let preferences = output + "/preferences.simulated.jsonl"
        let result = try TestProcess.emobake(["review", "simulate", output, "-o", preferences])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.contains("simulated annotator (simulated-ground-truth, not people)"))
        let judged = try lines(try String(contentsOfFile: preferences, encoding: .utf8))
        #expect(judged.count == 20)
        #expect(judged.allSatisfy { $0["annotator"] as? String == "simulated-ground-truth" })
        for line in judged {
            let candidates = line["candidates"] as! [String], chosen = line["chosen"] as! Int
            if candidates.contains("candidates/one/c0.json") { #expect(candidates[chosen] == "candidates/one/c0.json") }
            if candidates.contains("candidates/two/c2.json") { #expect(candidates[chosen] == "candidates/two/c2.json") }
        }
        let missing = try TestProcess.emobake(["review", "simulate", output, "--truth", folder.appendingPathComponent("nowhere").path, "-o", preferences + ".2"])
        #expect(missing.status == 1)
        #expect(missing.standardError.contains("nowhere/one.truth.json: no such file"))
        #expect(missing.standardError.split(separator: "\n").count == 1)
        #expect(!FileManager.default.fileExists(atPath: preferences + ".2"))
    }

    @Test func serveWritesEachChoiceAsItIsMade() throws {
        let output = folder.appendingPathComponent("review").path
        #expect(try makeReview(output).status == 0)
        let server = Process()
        server.executableURL = TestPaths.emobakeBinary
        server.arguments = ["review", "serve", output, "--port", "0"]
        let pipe = Pipe()
        server.standardOutput = pipe
        try server.run()
        defer {
            server.terminate()
            server.waitUntilExit()
        }
        // "serving DIR at http://127.0.0.1:PORT/ (...)"
        var banner = Data()
        while !banner.contains(UInt8(ascii: "\n")) {
            let chunk = pipe.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            banner.append(chunk)
        }
        let text = String(decoding: banner, as: UTF8.self)
        let url = try #require(text.split(separator: " ").first { $0.hasPrefix("http://") }.map(String.init))
        let report = try drive(url, downloads: folder.appendingPathComponent("downloads"), choose: "B,A,,B", export: false)
        #expect(report["progressAfter"] as? String == "3 of 4 pairs chosen")
        // Audio came through the server (with byte ranges): the page knew the clip's length.
        #expect(report["duration"] as? Double == 1.6)
        let saved = try lines(try String(contentsOfFile: output + "/preferences.jsonl", encoding: .utf8))
        #expect(saved.map { $0["chosen"] as? Int } == [1, 0, 1])
        #expect(saved.allSatisfy { $0["annotator"] as? String == "Test Reviewer" })
    }

    @Test func badInputIsOneLineAndNoFolder() throws {
        let output = folder.appendingPathComponent("review").path
        let missing = try TestProcess.emobake(["review", "make", "--clips", folder.appendingPathComponent("nope.wav").path, "-o", output])
        #expect(missing.status == 1)
        #expect(missing.standardError.contains("nope.wav: no such file or folder"))
        #expect(!FileManager.default.fileExists(atPath: output + "/index.html"))
        let (clips, tracks) = try makeInputs()
        let mismatch = try TestProcess.emobake(["review", "make", "--clips"] + clips + ["--tracks", tracks[0], "-o", output])
        #expect(mismatch.status == 2)
        #expect(mismatch.standardError.contains("--tracks gives 1 tracks for 2 clips"))
        let kinds = try TestProcess.emobake(["review", "make", "--clips", clips[0], "--candidates", "mean,warmer", "-o", output])
        #expect(kinds.status == 2)
        #expect(kinds.standardError.contains("\"warmer\" is not a candidate kind"))
        let serve = try TestProcess.emobake(["review", "serve", folder.path])
        #expect(serve.status == 1)
        #expect(serve.standardError.contains("no index.html"))
    }
}
