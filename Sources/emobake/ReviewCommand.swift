import ArgumentParser
import AudioIO
import Common
import EmotionCore
import Foundation
import JSONIO
import Recognition
import Training

/// `emobake review`: pages where people compare candidate animations (Stage 3's data).
struct ReviewCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "review",
        abstract: "Make and serve review pages where people choose the better of two candidate animations.",
        subcommands: [ReviewMakeCommand.self, ReviewServeCommand.self, ReviewSimulateCommand.self])
}

/// The review folder's manifest (review.json): which audio and candidates each clip has,
/// where the audio came from, and how each candidate was made (hidden from the page).
struct ReviewManifest {
    static let fileName = "review.json"

    struct Clip {
        var identifier: String
        var audioPath: String
        var source: String
        var candidates: [(path: String, kind: String)]
    }

    var title: String
    var model: String
    var clips: [Clip]
    var pairs: [ReviewPair]

    var json: JSONValue {
        .object(
            JSONObject([
                ("format", "emobake-review"), ("version", 1), ("title", .string(title)), ("model", .string(model)),
                (
                    "clips",
                    .array(
                        clips.map { clip in
                            .object(
                                JSONObject([
                                    ("id", .string(clip.identifier)), ("audio", .string(clip.audioPath)), ("source", .string(clip.source)),
                                    (
                                        "candidates",
                                        .array(
                                            clip.candidates.map {
                                                .object(JSONObject([("path", .string($0.path)), ("kind", .string($0.kind))]))
                                            })
                                    ),
                                ]))
                        })
                ),
                (
                    "pairs",
                    .array(
                        pairs.map { pair in
                            .object(
                                JSONObject([
                                    ("id", .string(pair.identifier)), ("clip", .integer(Int64(pair.clip))),
                                    ("left", .integer(Int64(pair.left))), ("right", .integer(Int64(pair.right))),
                                ]))
                        })
                ),
            ]))
    }

    static func read(folder: URL) throws -> ReviewManifest {
        let url = folder.appendingPathComponent(fileName)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw TrainingError("review.missing", "\(url.path): no such file (make the folder with emobake review make)")
        }
        do {
            let root = JSONField(try JSONCodec.parse(contentsOf: url), source: url.path)
            let clips = try root.required("clips").array().map { field in
                Clip(
                    identifier: try field.required("id").string(), audioPath: try field.required("audio").string(),
                    source: try field.required("source").string(),
                    candidates: try field.required("candidates").array().map { (try $0.required("path").string(), try $0.required("kind").string()) })
            }
            let pairs = try root.required("pairs").array().map { field in
                let pair = ReviewPair(
                    identifier: try field.required("id").string(), clip: try field.required("clip").int(),
                    left: try field.required("left").int(), right: try field.required("right").int())
                guard clips.indices.contains(pair.clip), clips[pair.clip].candidates.indices.contains(pair.left),
                    clips[pair.clip].candidates.indices.contains(pair.right)
                else { throw field.fail("refers to a clip or candidate that is not in the file") }
                return pair
            }
            return ReviewManifest(
                title: try root.optional("title")?.string() ?? "", model: try root.optional("model")?.string() ?? "", clips: clips, pairs: pairs)
        } catch let error as JSONError {
            throw TrainingError(error.code, error.message)
        }
    }
}

struct ReviewMakeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "make",
        abstract: "Write a review page: candidate emotion tracks per clip, shown in pairs beside the audio.",
        discussion: """
            For each clip the model predicts a track, and --candidates turns it into several different, plausible sequences (default 5: mean, temperature:0.5, temperature:2, sample, sample). The page shows pairs of them side by side (A and B, in random order) as faces and curves that follow the audio as it plays; the reviewer picks the better one of each pair and exports preferences.jsonl, the input of 'emobake train dpo'.

            The output folder holds index.html (self-contained: inline script and style, no network), audio/ (the clips as 16 kHz WAV, unless --embed-audio puts them inside the page), candidates/<clip>/c<i>.json, and review.json (which candidate is which, for 'review simulate' and 'train dpo'). Open index.html in a browser, or run 'emobake review serve DIR' to collect choices into DIR/preferences.jsonl as they are made.

            Instead of a model, --tracks gives one existing track per clip (same order) to make candidates from.

            Examples:
              emobake review make --clips lines/ -o review
              emobake review make --clips a.wav b.wav --model models/seq --pairs-per-clip 10 -o review
              emobake review make --clips a.wav --tracks a.json --candidates mean,temperature:0.5,sample -o review
            """)

    @Option(name: .long, parsing: .upToNextOption, help: ArgumentHelp("Audio files, or folders of them.", valueName: "audio"))
    var clips: [String]

    @Option(name: .long, parsing: .upToNextOption, help: ArgumentHelp("One track per clip to make the candidates from, instead of running a model.", valueName: "track"))
    var tracks: [String] = []

    @OptionGroup var model: SequenceModelOptions

    @Option(name: .long, help: ArgumentHelp("Candidate kinds, comma-separated: mean, temperature:T, sample[:seconds between keyframes], window:SECONDS (a Stage 1 model over sliding windows).", valueName: "kinds"))
    var candidates: String = CandidateGenerator.defaultKinds.map(\.description).joined(separator: ",")

    @Option(name: .long, help: ArgumentHelp("The Stage 1 model for window:SECONDS candidates (default: the --model folder, when it holds one).", valueName: "dir"))
    var windowModel: String?

    @Option(name: .long, help: "Pairs shown per clip (at most all pairs of its candidates).")
    var pairsPerClip: Int = 4

    @Option(name: .long, help: "Seed for the candidates and the pair order.")
    var seed: UInt64 = 1

    @Option(name: .long, help: "The page's title.")
    var title: String = "Which animation follows the voice better?"

    @Flag(name: .long, help: "Put the audio inside index.html (one file to send around) instead of audio/.")
    var embedAudio = false

    @Option(name: [.short, .customLong("output")], help: ArgumentHelp("The review folder to write.", valueName: "dir"))
    var output: String

    @Flag(help: "Print nothing on success.")
    var quiet = false

    func validate() throws {
        guard !clips.isEmpty else { throw ValidationError("--clips needs at least one audio file or folder") }
        guard pairsPerClip >= 1 else { throw ValidationError("--pairs-per-clip must be at least 1") }
        let kinds = try candidateKinds()
        guard kinds.count >= 2 else { throw ValidationError("--candidates needs at least two kinds to make pairs") }
        try model.validate()
    }

    func candidateKinds() throws -> [CandidateKind] {
        try candidates.split(separator: ",").map { text in
            guard let kind = CandidateKind.parse(String(text)) else {
                throw ValidationError("--candidates: \"\(text)\" is not a candidate kind (mean, temperature:T, sample, sample:SECONDS, window:SECONDS)")
            }
            return kind
        }
    }

    func run() throws {
        do {
            let audioFiles = try SequenceCommandSupport.audioFiles(clips)
            if !tracks.isEmpty && tracks.count != audioFiles.count {
                throw ValidationError("--tracks gives \(tracks.count) tracks for \(audioFiles.count) clips; give one per clip, in the same order")
            }
            let folder = URL(fileURLWithPath: output)
            let predictor: SequenceCommandSupport.Predictor? = tracks.isEmpty ? try model.predictor() : nil
            let generator = CandidateGenerator(kinds: try candidateKinds(), seed: seed)
            // Stage 1 over sliding windows, for window:SECONDS candidates.
            var stageOne: (any EmotionModel)?
            if !generator.windowLengths.isEmpty {
                stageOne = try SequenceCommandSupport.loadWindowModel(try windowModel.map { URL(fileURLWithPath: $0) } ?? model.modelDirectory())
            }
            var reviewClips: [ReviewClip] = []
            var manifestClips: [ReviewManifest.Clip] = []
            var used: Set<String> = []
            for (index, audioURL) in audioFiles.enumerated() {
                let identifier = SequenceCommandSupport.uniqueName(audioURL.deletingPathExtension().lastPathComponent, used: &used)
                let audio = try AudioDecoder.read(audioURL)
                let track: EmotionTrack
                if tracks.isEmpty {
                    track = try predictor!.predict(audio, source: audioURL.lastPathComponent)
                } else {
                    track = try EmotionTrack.read(from: URL(fileURLWithPath: tracks[index]))
                }
                let wav = SyntheticDialogue.wavData(audio)
                let audioPath = "audio/\(identifier).wav"
                if !embedAudio { try AtomicFile.write(wav, to: folder.appendingPathComponent(audioPath)) }
                var candidates: [ReviewCandidate] = []
                var windowTracks: [Double: EmotionTrack] = [:]
                for length in generator.windowLengths {
                    windowTracks[length] = try SlidingWindowPredictor(window: length, hop: 0.1).predict(audio, model: stageOne!, source: audioURL.lastPathComponent)
                }
                for (c, candidate) in generator.candidates(from: track, key: UInt64(index), windowTracks: windowTracks).enumerated() {
                    let path = "candidates/\(identifier)/c\(c).json"
                    try candidate.write(to: folder.appendingPathComponent(path))
                    candidates.append(ReviewCandidate(path: path, kind: generator.kinds[c].description, track: candidate))
                }
                reviewClips.append(
                    ReviewClip(
                        identifier: identifier, audio: embedAudio ? "data:audio/wav;base64," + wav.base64EncodedString() : audioPath,
                        audioPath: audioPath, duration: audio.duration, candidates: candidates))
                manifestClips.append(
                    ReviewManifest.Clip(
                        identifier: identifier, audioPath: audioPath, source: audioURL.standardizedFileURL.path,
                        candidates: candidates.map { ($0.path, $0.kind) }))
            }
            let pairs = ReviewPair.draw(clips: reviewClips, perClip: pairsPerClip, seed: seed)
            let emotions = reviewClips[0].candidates[0].track.emotions
            for clip in reviewClips where clip.candidates.contains(where: { Set($0.track.emotions) != Set(emotions) }) {
                throw TrainingError("review.emotions", "\(clip.identifier): its track's emotions differ from the first clip's (\(emotions.joined(separator: ", ")))")
            }
            try AtomicFile.write(
                try ReviewPage.html(title: title, emotions: emotions, clips: reviewClips, pairs: pairs),
                to: folder.appendingPathComponent("index.html"))
            let manifest = ReviewManifest(
                title: title, model: predictor?.identifier ?? "tracks given with --tracks", clips: manifestClips, pairs: pairs)
            try AtomicFile.write(try JSONCodec.serialize(manifest.json), to: folder.appendingPathComponent(ReviewManifest.fileName))
            if !quiet {
                print("\(output)/index.html: \(pairs.count) pairs from \(reviewClips.count) clips, \(generator.kinds.count) candidates each")
            }
        } catch let error as ValidationError {
            throw error
        } catch {
            printError(oneLineMessage(error))
            throw ExitCode(1)
        }
    }
}

struct ReviewSimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Judge a review folder's pairs with the simulated annotator (not a person) from ground-truth tracks.",
        discussion: """
            For offline experiments and tests. The simulated annotator prefers the candidate whose mixture is closer to the ground truth (lower mixture MAE). The ground truth of each clip is the track <audio name>.truth.json beside the clip's original audio (what 'emobake dialogues' writes), or in --truth DIR. Every judgement is written with "annotator": "simulated-ground-truth", so nothing downstream can mistake it for people's.

            By default every pair of every clip's candidates is judged (10 per clip for 5 candidates), not only the pairs shown on the page.

            Example:
              emobake review simulate review -o review/preferences.simulated.jsonl
            """)

    @Argument(help: ArgumentHelp("A folder written by 'emobake review make'.", valueName: "review-dir"))
    var folder: String

    @Option(name: .long, help: ArgumentHelp("Folder of <name>.truth.json tracks (default: beside each clip's source audio).", valueName: "dir"))
    var truth: String?

    @Flag(name: .long, help: "Judge only the pairs shown on the page.")
    var pagePairsOnly = false

    @Option(name: .long, help: "Probability of choosing the worse candidate on purpose (a noisy annotator).")
    var flipProbability: Double = 0

    @Option(name: .long, help: "Seed for the flips.")
    var seed: UInt64 = 1

    @Option(name: [.short, .customLong("output")], help: ArgumentHelp("Preferences file to write (JSON lines).", valueName: "file"))
    var output: String

    @Flag(help: "Print nothing on success.")
    var quiet = false

    func validate() throws {
        guard (0...1).contains(flipProbability) else { throw ValidationError("--flip-probability must be between 0 and 1") }
    }

    func run() throws {
        do {
            let base = URL(fileURLWithPath: folder)
            let manifest = try ReviewManifest.read(folder: base)
            let annotator = SimulatedAnnotator(flipProbability: flipProbability, seed: seed)
            var preferences: [Preference] = []
            for (index, clip) in manifest.clips.enumerated() {
                let source = URL(fileURLWithPath: clip.source)
                let name = source.deletingPathExtension().lastPathComponent + ".truth.json"
                let truthURL = truth.map { URL(fileURLWithPath: $0).appendingPathComponent(name) } ?? source.deletingLastPathComponent().appendingPathComponent(name)
                let truthTrack = try EmotionTrack.read(from: truthURL)
                let tracks = try clip.candidates.map { try EmotionTrack.read(from: base.appendingPathComponent($0.path)) }
                var judged = try annotator.judge(
                    clip: clip.audioPath, candidates: tracks, paths: clip.candidates.map(\.path), truth: truthTrack, key: UInt64(index))
                for i in judged.indices { judged[i].pair = "\(clip.identifier)/\(judged[i].pair ?? "")" }
                if pagePairsOnly {
                    let shown = Set(manifest.pairs.filter { $0.clip == index }.map { Set([$0.left, $0.right]) })
                    judged = judged.filter { preference in
                        shown.contains(Set(preference.candidates.compactMap { path in clip.candidates.firstIndex { $0.path == path } }))
                    }
                }
                preferences += judged
            }
            let outputURL = URL(fileURLWithPath: output)
            // Paths in the file are relative to the review folder; say so when the file lives elsewhere.
            try PreferencesFile.write(preferences, to: outputURL)
            if !quiet {
                let elsewhere = outputURL.deletingLastPathComponent().standardizedFileURL.path != base.standardizedFileURL.path
                print(
                    "\(output): \(preferences.count) preferences from \(manifest.clips.count) clips by the simulated annotator (simulated-ground-truth, not people)"
                        + (elsewhere ? "; paths are relative to \(folder) (pass --base \(folder) to train dpo)" : ""))
            }
        } catch {
            printError(oneLineMessage(error))
            throw ExitCode(1)
        }
    }
}
