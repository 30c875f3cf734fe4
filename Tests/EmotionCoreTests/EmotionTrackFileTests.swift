import EmotionCore
import Foundation
import TestSupport
import Testing

@Suite struct EmotionTrackJSONTests {
    let source = "t.json"

    @Test func readsAlphaAndDerivesMixture() throws {
        let text = #"{"emotions": ["neutral", "Happy", "fearful"], "times": [0, 0.5], "alpha": [[1, 2, 1], [0.5, 0.25, 0.25]]}"#
        let track = try EmotionTrack.parseJSON(Data(text.utf8), source: source)
        #expect(track.emotions == ["neutral", "happy", "fear"])
        #expect(track.times == [0, 0.5])
        #expect(track.mixture(frame: 0) == [0.25, 0.5, 0.25])
        #expect(track.concentration(frame: 1) == 1.0)
        #expect(track.mixture(frame: 1) == [0.5, 0.25, 0.25])
    }

    @Test func acceptsMixtureAndFrameRate() throws {
        let text = #"{"emotions": ["neutral", "angry"], "frameRate": 4, "mixture": [[1, 0], [0.25, 0.75], [0.5, 0.5]]}"#
        let track = try EmotionTrack.parseJSON(Data(text.utf8), source: source)
        #expect(track.times == [0, 0.25, 0.5])
        let mixture = track.mixture(frame: 1)
        #expect(abs(mixture[1] - 0.75) < 1e-6)
        #expect(abs(track.concentration(frame: 0) - EmotionTrack.defaultConcentration) < 1e-3)
        #expect(track.alpha(frame: 0).allSatisfy { $0 > 0 })
    }

    @Test func roundTripIsExactAndDeterministic() throws {
        let track = EmotionTrack(
            emotions: ["neutral", "sad"], times: [0, 0.02, 0.04], alpha: [1e-6, 3.25, 0.1, 0.2, 7, 1.0 / 3],
            source: "a.wav", model: "m")
        let data = try track.jsonData()
        #expect(try track.jsonData() == data)
        let back = try EmotionTrack.parseJSON(data, source: "back.json")
        #expect(back == track)
        let csvBack = try EmotionTrack.parseCSV(track.csvData(), source: "back.csv")
        #expect(csvBack.times == track.times)
        for (a, b) in zip(csvBack.alpha, track.alpha) { #expect(abs(a - b) <= 5e-9) }
    }

    @Test(arguments: [
        (#"{"emotions": ["neutral"], "times": [], "alpha": []}"#, "track has no frames"),
        (#"{"emotions": ["neutral", "happy"], "times": [0, 0], "alpha": [[1, 1], [1, 1]]}"#, "frame 1: time 0.0 is not after"),
        (#"{"emotions": ["neutral", "happy"], "times": [0.1, 0.05], "alpha": [[1, 1], [1, 1]]}"#, "frame 1: time 0.05"),
        (#"{"emotions": ["neutral", "happy"], "times": [-1, 0], "alpha": [[1, 1], [1, 1]]}"#, "frame 0: negative time"),
        (#"{"emotions": ["neutral", "happy"], "times": [0, 1], "alpha": [[1, 1], [1, NaN]]}"#, "frame 1: happy is not a finite"),
        (#"{"emotions": ["neutral", "happy"], "times": [0, 1], "alpha": [[1, 1], [0, 1]]}"#, "frame 1: alpha for neutral is 0.0"),
        (#"{"emotions": ["neutral", "happy"], "times": [0, 1], "alpha": [[1, 1], [1, 1, 1]]}"#, "frame 1: 3 values for 2 emotions"),
        (#"{"emotions": ["neutral", "bored"], "times": [0], "alpha": [[1, 1]]}"#, "unknown emotion \"bored\""),
        (#"{"emotions": ["sad", "sadness"], "times": [0], "alpha": [[1, 1]]}"#, "emotions[1]: \"sadness\" duplicates"),
        (#"{"emotions": [], "times": [0], "alpha": [[]]}"#, "names no emotions"),
        (#"{"emotions": ["neutral"], "times": [0, 1], "alpha": [[1]]}"#, "2 times but 1 alpha rows"),
        (#"{"emotions": ["neutral", "happy"], "times": [0], "mixture": [[0.5, 0.6]]}"#, "mixture sums to"),
        (#"{"emotions": ["neutral", "happy"], "alpha": [[1, 1]]}"#, "missing field \"times\""),
        (#"{"emotions": ["neutral"], "times": [0], "alpha": [["x"]]}"#, "alpha[0][0]: expected a number"),
        (#"{"format": "other", "emotions": ["neutral"], "times": [0], "alpha": [[1]]}"#, "format is \"other\""),
        ("[1, 2", "invalid JSON"),
    ])
    func refusesBadTracks(text: String, fragment: String) {
        do {
            let track = try EmotionTrack.parseJSON(Data(text.utf8), source: source)
            Issue.record("accepted a bad track: \(track)")
        } catch {
            let message = "\(error)"
            #expect(message.hasPrefix("t.json"), "\(message)")
            #expect(message.contains(fragment), "\(message)")
        }
    }
}

@Suite struct EmotionTrackCSVTests {
    @Test func readsMixtureCSVWithQuotesAndBOM() throws {
        let text = "\u{FEFF}time,\"neutral\",angry\r\n0,0.5,0.5\r\n0.1,0.2,0.8\r\n"
        let track = try EmotionTrack.parseCSV(Data(text.utf8), source: "m.csv")
        #expect(track.emotions == ["neutral", "angry"])
        #expect(abs(track.mixture(frame: 1)[1] - 0.8) < 1e-6)
    }

    @Test func readsAudio2FaceEmotionCSV() throws {
        let header = "frame," + EmotionTrack.audio2FaceEmotions.joined(separator: ",")
        // frame 0: joy 0.6 -> happy 0.6, neutral 0.4; frame 3: anger 0.9 + sadness 0.6 -> normalised.
        let rows = ["0,0,0,0,0,0,0,0.6,0,0,0", "3,0,0.9,0,0,0,0,0,0,0,0.6"]
        let track = try EmotionTrack.parseCSV(Data(([header] + rows).joined(separator: "\n").utf8), source: "a2f.csv")
        #expect(track.emotions.first == "neutral")
        #expect(track.emotions.contains("happy") && track.emotions.contains("angry") && track.emotions.contains("grief"))
        #expect(track.times == [0, 0.1])
        let first = track.mixture(frame: 0)
        #expect(abs(first[0] - 0.4) < 1e-6)
        #expect(abs(first[track.index(of: "happy")!] - 0.6) < 1e-6)
        let second = track.mixture(frame: 1)
        #expect(abs(second[track.index(of: "angry")!] - 0.6) < 1e-6)
        #expect(abs(second[track.index(of: "sad")!] - 0.4) < 1e-6)
    }

    @Test(arguments: [
        ("", "empty file"),
        ("value,neutral\n0,1\n", "line 1: the first column must be time"),
        ("time,alpha_neutral,alpha_sad\n0,1,1\n0.1,1\n", "line 3: 2 columns"),
        ("time,alpha_neutral,alpha_sad\n0,1,abc\n", "line 2: column alpha_sad: \"abc\" is not a number"),
        ("time,alpha_neutral,alpha_sad\n0,1,-1\n", "frame 0: alpha for sad is -1.0"),
        ("time,alpha_neutral,alpha_sad\n", "no frames"),
    ])
    func refusesBadCSV(text: String, fragment: String) {
        do {
            _ = try EmotionTrack.parseCSV(Data(text.utf8), source: "b.csv")
            Issue.record("accepted a bad CSV")
        } catch {
            #expect("\(error)".hasPrefix("b.csv"))
            #expect("\(error)".contains(fragment), "\(error)")
        }
    }
}

@Suite struct EmotionTrackFileTests {
    @Test func missingFileAndUnknownExtension() throws {
        let directory = TestPaths.temporaryDirectory("tracks")
        #expect(throws: EmotionCoreError.self) { try EmotionTrack.read(from: directory.appendingPathComponent("none.json")) }
        let odd = directory.appendingPathComponent("t.yaml")
        try Data("x".utf8).write(to: odd)
        do {
            _ = try EmotionTrack.read(from: odd)
        } catch {
            #expect("\(error)".contains("unknown track format"))
        }
    }

    @Test func shippedFixtureTracksLoad() throws {
        let folder = TestPaths.fixtures.appendingPathComponent("tracks")
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".json") }
        #expect(!names.isEmpty)
        for name in names {
            let track = try EmotionTrack.read(from: folder.appendingPathComponent(name))
            #expect(track.frameCount > 1)
        }
    }
}
