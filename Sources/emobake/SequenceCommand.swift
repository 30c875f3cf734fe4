import ArgumentParser
import AudioIO
import Common
import EmotionCore
import Foundation
import Neural
import Recognition
import Training

/// How the Stage 2/3 commands pick a model and run it over a clip: sliding windows of a
/// Stage 1 model, or a sequence model over the whole clip.
struct SequenceModelOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Model folder (default: Presets/models/default).", valueName: "dir"))
    var model: String?

    @Option(name: .long, help: ArgumentHelp("window: a Stage 1 model over sliding windows.", valueName: "mode"))
    var mode: String = "window"

    @Option(name: .long, help: ArgumentHelp("Window length in seconds (window mode).", valueName: "seconds"))
    var window: Double = SlidingWindowPredictor.defaultWindow

    @Option(name: .long, help: ArgumentHelp("Seconds between window starts (window mode).", valueName: "seconds"))
    var hop: Double = SlidingWindowPredictor.defaultHop

    @Option(name: .long, help: ArgumentHelp("Presets folder, to find the default model.", valueName: "dir"))
    var presets: String?

    @Option(name: [.short, .customLong("jobs")], help: "Threads for the neural network.")
    var jobs: Int = 2

    func validate() throws {
        guard mode == "window" else { throw ValidationError("--mode must be window, got \(mode)") }
        guard window.isFinite, window > 0 else { throw ValidationError("--window must be a positive number of seconds, got \(window)") }
        guard hop.isFinite, hop > 0 else { throw ValidationError("--hop must be a positive number of seconds, got \(hop)") }
        guard jobs >= 1 else { throw ValidationError("--jobs must be at least 1, got \(jobs)") }
    }

    func modelDirectory() throws -> URL {
        if let model { return URL(fileURLWithPath: model) }
        return try SequenceCommandSupport.defaultModelDirectory(presets: presets)
    }

    func predictor() throws -> SequenceCommandSupport.Predictor {
        setBLASThreads(jobs)
        KernelThreads.count = jobs
        let emotionModel = try ModelLoader.load(directory: try modelDirectory())
        let sliding = SlidingWindowPredictor(window: window, hop: hop)
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
