import Foundation
import Neural
import TestSupport
import Testing
import Training

@Suite struct ClipCatalogueTests {
    static let seven = ["neutral", "happy", "sad", "angry", "fear", "disgust", "surprise"]

    static func touch(_ url: URL) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: url.path, contents: Data([0]))
    }

    @Test func ravdessNamesGiveLabelsAndActors() throws {
        let folder = TestPaths.temporaryDirectory("ravdess-names")
        defer { try? FileManager.default.removeItem(at: folder) }
        for name in ["Actor_03/03-01-02-01-01-01-03.flac", "Actor_03/03-01-06-02-02-02-03.flac", "Actor_18/03-01-08-01-01-01-18.wav"] {
            try Self.touch(folder.appendingPathComponent(name))
        }
        try "not audio".write(to: folder.appendingPathComponent("SOURCE.md"), atomically: true, encoding: .utf8)
        let clips = try ClipCatalogue.load(folder, emotions: Self.seven)
        #expect(clips.map(\.label) == [0, 4, 6])  // calm -> neutral, fearful -> fear, surprised -> surprise
        #expect(clips.map(\.speaker) == ["03", "03", "18"])
        let (train, validation) = ClipCatalogue.split(clips, validationSpeakers: try ClipCatalogue.parseSpeakers("17-20"))
        #expect(train.count == 2 && validation.count == 1)
        #expect(validation[0].url.lastPathComponent == "03-01-08-01-01-01-18.wav")
    }

    @Test func aStrayFileNameIsNamedInTheError() throws {
        let folder = TestPaths.temporaryDirectory("ravdess-stray")
        defer { try? FileManager.default.removeItem(at: folder) }
        try Self.touch(folder.appendingPathComponent("Actor_01/take-one.wav"))
        do {
            _ = try ClipCatalogue.load(folder, emotions: Self.seven)
            Issue.record("accepted a file that is not named the RAVDESS way")
        } catch let error as TrainingError {
            #expect(error.message.contains("take-one.wav"))
            #expect(error.message.contains("labels.csv"))
        }
    }

    @Test func csvListsWithSplitsSpeakersAndSpellings() throws {
        let folder = TestPaths.temporaryDirectory("csv-list")
        defer { try? FileManager.default.removeItem(at: folder) }
        let text = """
            path,label,speaker,split
            a/one.wav,Anger,s1,
            "b/two, with comma.wav",fearful,s2,validation
            c/three.wav,calm,s3,train

            """
        try text.write(to: folder.appendingPathComponent("labels.csv"), atomically: true, encoding: .utf8)
        let clips = try ClipCatalogue.load(folder, emotions: Self.seven)
        #expect(clips.map(\.label) == [3, 4, 0])
        #expect(clips[1].url.lastPathComponent == "two, with comma.wav")
        #expect(clips[0].url.path.hasPrefix(folder.standardizedFileURL.path))
        let (train, validation) = ClipCatalogue.split(clips, validationSpeakers: ["s1"])
        #expect(validation.map(\.label) == [3, 4])  // s1 by speaker, the second by its split column
        #expect(train.map(\.label) == [0])
    }

    @Test(arguments: [
        ("path,label\na.wav,bored\n", "list.csv:2: label \"bored\""),
        ("path,emotion\na.wav,sad\n", "list.csv:1: the header must name"),
        ("path,label\na.wav\n", "list.csv:2: expected 2 columns"),
        ("path,label,split\na.wav,sad,test\n", "list.csv:2: split \"test\""),
        ("", "list.csv: empty file"),
    ])
    func badListsGiveOneLineErrorsWithTheLine(text: String, fragment: String) throws {
        let folder = TestPaths.temporaryDirectory("csv-bad")
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("list.csv")
        try text.write(to: file, atomically: true, encoding: .utf8)
        do {
            _ = try ClipCatalogue.load(file, emotions: Self.seven)
            Issue.record("accepted \(text)")
        } catch let error as TrainingError {
            #expect(error.message.contains(fragment), "\(error.message)")
            #expect(!error.message.contains("\n"))
        }
    }

    @Test func speakerRanges() throws {
        #expect(try ClipCatalogue.parseSpeakers("17-20, 3") == ["17", "18", "19", "20", "3"])
        // "07" and "7" are the same speaker.
        let clips = [LabelledClip(url: URL(fileURLWithPath: "/x.wav"), label: 0, speaker: "07")]
        #expect(ClipCatalogue.split(clips, validationSpeakers: ["7"]).validation.count == 1)
    }
}

@Suite struct ClassifierMetricsTests {
    @Test func figuresOfASmallExample() {
        // Three classes; clips: (label, alpha).
        let rows: [(Int, [Double])] = [
            (0, [8, 1, 1]),  // right, confidence 0.8
            (0, [1, 3, 1]),  // wrong (predicts 1), confidence 0.6
            (1, [1, 6, 3]),  // right, 0.6
            (2, [2, 2, 6]),  // right, 0.6
        ]
        let metrics = ClassifierMetrics(alphas: rows.map(\.1), labels: rows.map(\.0), emotions: ["a", "b", "c"])
        #expect(metrics.accuracy == 0.75)
        // recall: a 1/2, b 1, c 1 -> UA 5/6
        #expect(abs(metrics.unweightedAccuracy - 5.0 / 6) < 1e-12)
        #expect(metrics.confusion == [[1, 1, 0], [0, 1, 0], [0, 0, 1]])
        // |m - onehot| sums: 0.4, 1.2+..., computed by hand below
        let sums = [0.2 + 0.1 + 0.1, 0.8 + 0.6 + 0.2, 0.1 + 0.4 + 0.3, 0.2 + 0.2 + 0.4]
        #expect(abs(metrics.mixtureMAE - sums.reduce(0, +) / 12) < 1e-12)
        // bins: 0.8 -> bin 8 (1 clip, right): |1 - 0.8| = 0.2; 0.6 -> bin 6 (3 clips, 2 right): |2/3 - 0.6|
        #expect(abs(metrics.calibrationError - (0.25 * 0.2 + 0.75 * abs(2.0 / 3 - 0.6))) < 1e-12)
        #expect(abs(metrics.meanConcentration - 8.75) < 1e-12)
        #expect(metrics.text.contains("unweighted accuracy 0.8333"))
    }

    @Test func aClassWithoutClipsDoesNotCountInUA() {
        let metrics = ClassifierMetrics(alphas: [[3, 1, 1], [1, 3, 1]], labels: [0, 1], emotions: ["a", "b", "c"])
        #expect(metrics.recall[2].isNaN)
        #expect(metrics.unweightedAccuracy == 1)
    }
}

@Suite struct SpeedPerturbationTests {
    static func tone(_ frequency: Double, count: Int) -> [Float] {
        (0..<count).map { Float(0.5 * sin(2 * Double.pi * frequency * Double($0) / 16000)) }
    }

    /// Frequency from the count of upward zero crossings in the middle of the signal.
    static func frequency(_ samples: [Float]) -> Double {
        let middle = Array(samples[(samples.count / 4)..<(3 * samples.count / 4)])
        var crossings = 0
        for i in 1..<middle.count where middle[i - 1] < 0 && middle[i] >= 0 { crossings += 1 }
        return Double(crossings) * 16000 / Double(middle.count)
    }

    @Test(arguments: [0.9, 1.1])
    func aToneMovesByTheFactor(factor: Double) {
        let output = SpeedPerturbation.apply(Self.tone(1000, count: 16000), factor: factor)
        #expect(output.count == Int(16000 / factor))
        #expect(abs(Self.frequency(output) - 1000 * factor) < 10)
        // The amplitude is kept (passband gain 1).
        let peak = output[2000..<(output.count - 2000)].map(abs).max()!
        #expect(abs(peak - 0.5) < 0.01)
    }

    @Test func contentAboveTheNewNyquistIsRemovedNotFolded() {
        // 7.8 kHz sped up by 1.1 would land at 8.58 kHz, above Nyquist: it must vanish.
        let output = SpeedPerturbation.apply(Self.tone(7800, count: 16000), factor: 1.1)
        let rms = (output[2000..<(output.count - 2000)].reduce(0) { $0 + Double($1) * Double($1) } / Double(output.count - 4000)).squareRoot()
        #expect(rms < 0.005)  // under 1/70 of the tone's RMS (0.354): below -37 dB
    }
}
