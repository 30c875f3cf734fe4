import EmotionCore
import Foundation
import JSONIO
import TestSupport
import Testing

/// Track JSON is read by the flat scanner when it is strict JSON and by json-c otherwise. A
/// leading comment is valid for json-c only, so "/**/" + text takes the json-c path: both
/// must give the same track or the same error.
@Suite struct EmotionTrackJSONPathTests {
    let source = "t.json"

    func bothPaths(_ text: String) -> (fast: Result<EmotionTrack, Error>, jsonc: Result<EmotionTrack, Error>) {
        (
            Result { try EmotionTrack.parseJSON(Data(text.utf8), source: source) },
            Result { try EmotionTrack.parseJSON(Data(("/**/" + text).utf8), source: source) }
        )
    }

    @Test(arguments: [
        #"{"format": "emobake-track", "version": 1, "source": "C:\\takes\\line \"1\".wav", "model": "m", "emotions": ["neutral", "happy"], "times": [0, 0.02, 1e-1], "alpha": [[1, 2.5], [3e-6, 4], [0.1, 0.2]]}"#,
        #"{"emotions": ["neutral", "angry"], "frameRate": 4, "mixture": [[1, 0], [0.25, 0.75], [0.5, 0.5]]}"#,
        #"{"emotions": ["neutral", "angry"], "frameRate": 50.0, "mixture": [[1, 0], [0.25, 0.75]], "concentration": [10, 2.5]}"#,
        #"{"emotions": ["neutral", "angry"], "times": [0, 1], "mixture": [[1, 0], [0.25, 0.75]], "concentration": [10, 2.5]}"#,
        #"{"emotions": ["sad"], "times": [0.5], "alpha": [[2]], "concentration": [1], "extra": {"deep": [[1, "x"], {"y": null}]}, "notes": []}"#,
        #"{"emotions": ["sad"], "times": [0], "alpha": null, "mixture": [[1]], "source": null, "frameRate": "ignored"}"#,
    ])
    func bothPathsReadTheSameTrack(text: String) throws {
        #expect(JSONScanner.scanObject(Data(text.utf8)) != nil)
        #expect(JSONScanner.scanObject(Data(("/**/" + text).utf8)) == nil)
        let (fast, jsonc) = bothPaths(text)
        let track = try fast.get()
        #expect(track == (try jsonc.get()))
        #expect(track.frameCount >= 1)
    }

    @Test func fieldsReadToTheirValues() throws {
        let text = #"{"source": "a\u00e9.wav", "emotions": ["neutral", "happy"], "times": [0, 0.02], "alpha": [[1, 2.5], [3e-6, 4]]}"#
        let track = try EmotionTrack.parseJSON(Data(text.utf8), source: source)
        #expect(track.source == "aé.wav")
        #expect(track.times == [0, 0.02])
        #expect(track.alpha == [1, 2.5, 3e-6, 4])
        let mixture = try EmotionTrack.parseJSON(
            Data(#"{"emotions": ["neutral", "angry"], "frameRate": 50, "mixture": [[0.25, 0.75]], "concentration": [10]}"#.utf8),
            source: source)
        let expected: [Double] = [10 * 0.25 + 1e-6, 10 * 0.75 + 1e-6]
        #expect(mixture.alpha == expected)
    }

    @Test(arguments: [
        (#"{"emotions": ["neutral"], "times": [], "alpha": []}"#, "track has no frames"),
        (#"{"emotions": ["neutral", "happy"], "times": [0, 0], "alpha": [[1, 1], [1, 1]]}"#, "frame 1: time 0.0 is not after"),
        (#"{"emotions": ["neutral", "happy"], "times": [-1, 0], "alpha": [[1, 1], [1, 1]]}"#, "frame 0: negative time"),
        (#"{"emotions": ["neutral", "happy"], "times": [0, 1e999], "alpha": [[1, 1], [1, 1]]}"#, "frame 1: time is not a finite"),
        (#"{"emotions": ["neutral", "happy"], "times": [0, 1], "alpha": [[1, 1], [1, 1e999]]}"#, "frame 1: happy is not a finite"),
        (#"{"emotions": ["neutral", "happy"], "times": [0, 1], "alpha": [[1, 1], [0, 1]]}"#, "frame 1: alpha for neutral is 0.0"),
        (#"{"emotions": ["neutral", "happy"], "times": [0, 1], "alpha": [[1, 1], [1, 1, 1]]}"#, "frame 1: 3 values for 2 emotions"),
        (#"{"emotions": ["neutral", "happy"], "times": [0, 1], "alpha": [[1, 1], []]}"#, "frame 1: 0 values for 2 emotions"),
        (#"{"emotions": ["neutral", "bored"], "times": [0], "alpha": [[1, 1]]}"#, "unknown emotion \"bored\""),
        (#"{"emotions": ["sad", "sadness"], "times": [0], "alpha": [[1, 1]]}"#, "emotions[1]: \"sadness\" duplicates"),
        (#"{"emotions": [], "times": [0], "alpha": [[]]}"#, "names no emotions"),
        (#"{"emotions": ["neutral", 3], "times": [0], "alpha": [[1, 1]]}"#, "emotions[1]: expected a string"),
        (#"{"times": [0], "alpha": [[1]]}"#, "missing field \"emotions\""),
        (#"{"emotions": ["neutral"], "times": [0, 1], "alpha": [[1]]}"#, "2 times but 1 alpha rows"),
        (#"{"emotions": ["neutral", "happy"], "times": [0], "mixture": [[0.5, 0.6]]}"#, "mixture sums to"),
        (#"{"emotions": ["neutral", "happy"], "times": [0], "mixture": [[1.5, -0.5]]}"#, "mixture value -0.5 is negative"),
        (#"{"emotions": ["neutral", "happy"], "times": [0], "mixture": [[1]]}"#, "frame 0: 1 values for 2 emotions"),
        (#"{"emotions": ["neutral"], "times": [0, 1], "mixture": [[1], [1]], "concentration": [1]}"#, "1 concentrations for 2 frames"),
        (#"{"emotions": ["neutral"], "times": [0, 1], "mixture": [[1], [1]], "concentration": [1, 1e999]}"#, "concentration[1]: number is not finite"),
        (#"{"emotions": ["neutral"], "times": [0, 1], "mixture": [[1], [1]], "concentration": [1, "x"]}"#, "concentration[1]: expected a number"),
        (#"{"emotions": ["neutral"], "times": [0, 1], "mixture": [[1], [1]], "concentration": [1, -2]}"#, "frame 1: concentration must be a positive"),
        (#"{"emotions": ["neutral"], "times": [0], "mixture": [[1]], "concentration": 3}"#, "concentration: expected an array, found a number"),
        (#"{"emotions": ["neutral"], "times": [0], "mixture": [[1]], "concentration": [[3]]}"#, "concentration[0]: expected a number, found an array"),
        (#"{"emotions": ["neutral", "happy"], "alpha": [[1, 1]]}"#, "missing field \"times\""),
        (#"{"emotions": ["neutral"], "times": [0]}"#, "missing field \"alpha\" (or \"mixture\")"),
        (#"{"emotions": ["neutral"], "times": [0], "alpha": [1]}"#, "alpha[0]: expected an array, found a number"),
        (#"{"emotions": ["neutral"], "times": [0], "alpha": "x"}"#, "alpha: expected an array, found a string"),
        (#"{"emotions": ["neutral"], "times": [[0]], "alpha": [[1]]}"#, "times[0]: expected a number, found an array"),
        (#"{"emotions": ["neutral"], "times": 0, "alpha": [[1]]}"#, "times: expected an array, found a number"),
        (#"{"emotions": ["neutral"], "times": [0], "alpha": [["x"]]}"#, "alpha[0][0]: expected a number"),
        (#"{"emotions": ["neutral"], "frameRate": 0, "alpha": [[1]]}"#, "frameRate: frame rate 0.0 must be in"),
        (#"{"emotions": ["neutral"], "frameRate": "50", "alpha": [[1]]}"#, "frameRate: expected a number, found a string"),
        (#"{"format": "other", "emotions": ["neutral"], "times": [0], "alpha": [[1]]}"#, "format is \"other\""),
        (#"{"format": 1, "emotions": ["neutral"], "times": [0], "alpha": [[1]]}"#, "format: expected a string"),
        (#"{"version": 2, "emotions": ["neutral"], "times": [0], "alpha": [[1]]}"#, "version 2 is newer"),
        (#"{"version": 1.5, "emotions": ["neutral"], "times": [0], "alpha": [[1]]}"#, "version: expected a whole number"),
        (#"{"source": 1, "emotions": ["neutral"], "times": [0], "alpha": [[1]]}"#, "source: expected a string"),
    ])
    func bothPathsGiveTheSameError(text: String, fragment: String) {
        let (fast, jsonc) = bothPaths(text)
        switch (fast, jsonc) {
        case (.failure(let fastError), .failure(let jsoncError)):
            let message = "\(fastError)"
            #expect(message == "\(jsoncError)")
            #expect(message.hasPrefix("t.json: "), "\(message)")
            #expect(message.contains(fragment), "\(message)")
            #expect(!message.contains("\n"))
        default:
            Issue.record("accepted a bad track: \(fast) / \(jsonc)")
        }
    }

    /// Malformed files (which always take the json-c path) fail with one line naming the file.
    /// (json-c's own leniencies stay: it reads "0.5e" as 0.5, as before the scanner.)
    @Test(arguments: [
        #"{"emotions": ["neutral"], "times": [0], "alpha": [[1]]"#, #"{"emotions": ["neutral"], "times": [0], "alpha": [[1]]} trailing"#,
        #"{"emotions": ["neu\qtral"], "times": [0], "alpha": [[1]]}"#, #"{"emotions": ["neutral"], "times": [0], "alpha": [[Infinity]]}"#,
        #"{"emotions": ["neutral"], "times": [0], "alpha": [[NaN]]}"#, #"{"emotions": ["neutral"], "times": [0, 1}, "alpha": [[1]]}"#,
        "{\"emotions\": [\"neutral\"], \"times\": [0], \"alpha\": " + String(repeating: "[", count: 100) + "}", "", "[]",
    ])
    func malformedFilesFailOnOneLine(text: String) {
        do {
            let track = try EmotionTrack.parseJSON(Data(text.utf8), source: source)
            Issue.record("accepted \(track)")
        } catch {
            #expect("\(error)".hasPrefix("t.json"), "\(error)")
            #expect(!"\(error)".contains("\n"))
        }
    }

    @Test func ourOwnFilesTakeTheFastPathAndReadBackExactly() throws {
        var generator = SplitMix64(seed: 2026)
        let frames = 2_000
        let alpha = (0..<frames * 7).map { _ in Double.random(in: 1e-6...50, using: &generator) }
        let times = (0..<frames).map { Double($0) / 50 + Double.random(in: 0..<0.001, using: &generator) }
        let track = EmotionTrack(
            emotions: ["neutral", "happy", "sad", "angry", "fear", "disgust", "surprise"], times: times, alpha: alpha, source: "x", model: "m")
        let data = try track.jsonData()
        #expect(JSONScanner.scanObject(data) != nil)
        let back = try EmotionTrack.parseJSON(data, source: "back.json")
        #expect(back.alpha == track.alpha)
        #expect(back == (try EmotionTrack.parseJSON(Data("/**/".utf8) + data, source: "back.json")))
    }
}
