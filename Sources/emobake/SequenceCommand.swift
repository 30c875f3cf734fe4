import ArgumentParser
import AudioIO
import Common
import EmotionCore
import Foundation
import JSONIO
import Neural
import Recognition
import Training

/// How the Stage 2/3 commands pick a model and run it over a clip: a sequence model over the
/// whole clip, or a Stage 1 model over sliding windows.
struct SequenceModelOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Model folder (default: Presets/models/default).", valueName: "dir"))
    var model: String?

    @Option(name: .long, help: ArgumentHelp("sequence (the sequence model: the folder itself or its sequence/ subfolder) or window (a Stage 1 model over sliding windows).", valueName: "mode"))
    var mode: String = "sequence"

    @Option(name: .long, help: ArgumentHelp("Window length in seconds (window mode; default: the model's, 2 s for compact models, else 1 s).", valueName: "seconds"))
    var window: Double?

    @Option(name: .long, help: ArgumentHelp("Seconds between window starts (window mode).", valueName: "seconds"))
    var hop: Double = SlidingWindowPredictor.defaultHop

    @Option(name: .long, help: ArgumentHelp("Presets folder, to find the default model.", valueName: "dir"))
    var presets: String?

    @Option(name: [.short, .customLong("jobs")], help: "Threads for the neural network.")
    var jobs: Int = 2

    func validate() throws {
        guard mode == "window" || mode == "sequence" else { throw ValidationError("--mode must be sequence or window, got \(mode)") }
        if let window, !(window.isFinite && window > 0) { throw ValidationError("--window must be a positive number of seconds, got \(window)") }
        guard hop.isFinite, hop > 0 else { throw ValidationError("--hop must be a positive number of seconds, got \(hop)") }
        guard jobs >= 1 else { throw ValidationError("--jobs must be at least 1, got \(jobs)") }
    }

    func modelDirectory() throws -> URL {
        if let model { return URL(fileURLWithPath: model) }
        return try SequenceCommandSupport.defaultModelDirectory(presets: presets)
    }

    func predictor() throws -> SequenceCommandSupport.Predictor {
        SequenceCommandSupport.useThreads(jobs)
        let directory = try modelDirectory()
        if mode == "sequence" {
            let model = try SequenceModel.load(directory: try SequenceCommandSupport.sequenceModelDirectory(directory))
            return SequenceCommandSupport.Predictor(identifier: model.identifier) { audio, source in
                try SequencePredictor().predict(audio, model: model, source: source)
            }
        }
        let emotionModel = try SequenceCommandSupport.loadWindowModel(directory)
        let sliding = SlidingWindowPredictor(window: window ?? SlidingWindowPredictor.defaultWindow(for: emotionModel), hop: hop)
        return SequenceCommandSupport.Predictor(identifier: emotionModel.identifier) { audio, source in
            try sliding.predict(audio, model: emotionModel, source: source)
        }
    }
}

enum SequenceCommandSupport {
    /// A model ready to turn a decoded clip into a track.
    struct Predictor {
        let identifier: String
        let predict: (AudioBuffer, String) throws -> EmotionTrack

        func predict(_ audio: AudioBuffer, source: String) throws -> EmotionTrack { try predict(audio, source) }
    }

    static let audioExtensions: Set<String> = ["wav", "flac", "ogg", "opus", "mp3", "aiff", "aif"]

    /// The audio files named, folders expanded to the audio files inside (sorted, not recursive).
    static func audioFiles(_ paths: [String]) throws -> [URL] {
        var result: [URL] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw CommonError("audio.missing", "\(path): no such file or folder")
            }
            if isDirectory.boolValue {
                let names = try FileManager.default.contentsOfDirectory(atPath: path).sorted()
                let found = names.filter { audioExtensions.contains(URL(fileURLWithPath: $0).pathExtension.lowercased()) }
                guard !found.isEmpty else { throw CommonError("audio.none", "\(path): no audio files (wav, flac, ogg, opus, mp3, aiff) in the folder") }
                result += found.map { URL(fileURLWithPath: path).appendingPathComponent($0) }
            } else {
                result.append(URL(fileURLWithPath: path))
            }
        }
        return result
    }

    /// `name`, or `name_2`, `name_3`... when it is taken; only letters, digits, '-', '_' and '.' kept.
    static func uniqueName(_ name: String, used: inout Set<String>) -> String {
        let cleaned = String(name.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." ? $0 : "_" })
        var candidate = cleaned.isEmpty ? "clip" : cleaned
        var counter = 2
        while used.contains(candidate) {
            candidate = "\(cleaned)_\(counter)"
            counter += 1
        }
        used.insert(candidate)
        return candidate
    }

    static func useThreads(_ jobs: Int) {
        RuntimeThreads.configure(jobs)
    }

    /// Runs `body` with the kernels on one thread (while `jobs` workers each run a model).
    static func singleThreadedKernels<T>(restoring jobs: Int, _ body: () throws -> T) rethrows -> T {
        RuntimeThreads.configure(1)
        defer { RuntimeThreads.configure(jobs) }
        return try body()
    }

    /// The sequence model of a model folder: the folder itself, or its `sequence/` subfolder
    /// (the shipped default keeps Stage 1 at the top and the sequence model beside it).
    static func sequenceModelDirectory(_ directory: URL) throws -> URL {
        try ListeningMode.sequence.resolve(directory).folder
    }

    /// A Stage 1 model for sliding windows: the compact model, or any model ModelLoader knows.
    static func loadWindowModel(_ directory: URL) throws -> any EmotionModel {
        let config = directory.appendingPathComponent("config.json")
        if let value = try? JSONCodec.parse(contentsOf: config), value["model_type"]?.stringValue == CompactModelConfiguration.modelType {
            return try CompactModel.load(directory: directory)
        }
        _ = try ListeningMode.window.resolve(directory)
        return try ModelLoader.load(directory: directory)
    }

    /// Labelled clips of some speakers (RAVDESS folder or CSV with a speaker column), as
    /// dialogue sources.
    static func dialogueSources(data: String, speakers: String, emotions: [String]) throws -> [DialogueSourceClip] {
        let clips = try ClipCatalogue.load(URL(fileURLWithPath: data), emotions: emotions)
        let chosen = ClipCatalogue.split(clips.map { var clip = $0; clip.split = nil; return clip }, validationSpeakers: try ClipCatalogue.parseSpeakers(speakers)).validation
        guard !chosen.isEmpty else { throw TrainingError("data.noSpeakers", "\(data): no clips of speakers \(speakers)") }
        return chosen.map { DialogueSourceClip(url: $0.url, label: $0.label, speaker: $0.speaker ?? "") }
    }

    /// Runs `body` for 0..<count on `jobs` threads; results in index order; the first error wins.
    static func parallelMap<T>(_ count: Int, jobs: Int, progress: ((Int) -> Void)? = nil, _ body: @escaping (Int) throws -> T) throws -> [T] {
        var results = [T?](repeating: nil, count: count)
        var failure: (Int, Error)?
        var done = 0
        let lock = NSLock()
        var next = 0
        DispatchQueue.concurrentPerform(iterations: max(1, min(jobs, count))) { _ in
            while true {
                lock.lock()
                let index = next
                next += 1
                let stop = failure != nil
                lock.unlock()
                if index >= count || stop { return }
                do {
                    let value = try body(index)
                    lock.lock()
                    results[index] = value
                    done += 1
                    let finished = done
                    lock.unlock()
                    progress?(finished)
                } catch {
                    lock.lock()
                    if failure == nil || index < failure!.0 { failure = (index, error) }
                    lock.unlock()
                }
            }
        }
        if let failure { throw failure.1 }
        return results.map { $0! }
    }

    /// Progress on standard error when it is a terminal: one line, rewritten.
    static func progress(_ text: String) {
        guard isatty(2) != 0 else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K\(text)".utf8))
    }

    static func defaultModelDirectory(presets: String?) throws -> URL {
        let presetsDirectory: URL
        do {
            presetsDirectory = try ResourceLocator.presetsDirectory(explicit: presets)
        } catch {
            throw CommonError("model.noDefault", "no default model is installed (\(oneLineMessage(error))); pass --model DIR")
        }
        let directory = presetsDirectory.appendingPathComponent("models/default")
        guard FileManager.default.fileExists(atPath: directory.appendingPathComponent("config.json").path) else {
            throw CommonError("model.noDefault", "no default model is installed (\(directory.path) has no config.json); pass --model DIR")
        }
        return directory
    }
}
