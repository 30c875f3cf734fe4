import ArgumentParser
import AudioIO
import Common
import EmotionCore
import Foundation
import JSONIO
import Neural
import Recognition

/// `emobake predict`: audio file -> emotion track, by sliding windows.
struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Hear the emotions in an audio file over time and write an emotion track.",
        discussion: """
            Two ways to listen (--mode): a sequence model hears the whole clip and gives a mixture every 160 ms (Stage 2; the default when the model folder is a sequence model or has a sequence/ subfolder, as the shipped default model has); a Stage 1 model listens to overlapping windows (--window seconds long, one every --hop seconds), each window giving one frame of the track at its centre (the default for any other model; a clip no longer than one window gives one frame for the whole clip). Audio of any length is decoded block by block, so memory stays flat.

            Models: a folder with config.json and model.safetensors: a wav2vec2 checkpoint with EmoBake's Dirichlet head, or a Hugging Face Wav2Vec2ForSequenceClassification checkpoint as downloaded (its mixture is softmax(logits), reported with a fixed concentration of 100). Without --model, the default model in Presets/models/default is used.

            Examples:
              emobake predict line_001.wav -o line_001.track.json
              emobake predict line_001.wav --mode window --window 1.4 -o line_001.windows.json
              emobake predict take.flac --model models/ser --window 1.4 --hop 0.2 -o take.json
              emobake predict take.mp3 -o take.csv --json

            Exit status: 0 written, 1 the audio or the model could not be used, 2 bad usage.
            """)

    @Argument(help: "Audio file: WAV, FLAC, OGG/Vorbis, Opus, MP3 or AIFF, any sample rate and channel count.")
    var audio: String

    @Option(help: ArgumentHelp("Model folder (config.json + model.safetensors).", valueName: "dir"))
    var model: String?

    @Option(help: ArgumentHelp("sequence: a sequence model over the whole clip (the model folder itself or its sequence/ subfolder); window: a Stage 1 model over sliding windows; auto: sequence when the model has one, else window.", valueName: "mode"))
    var mode: String = "auto"

    @Option(help: ArgumentHelp("Window length in seconds (window mode; default: the model's, 2 s for compact models, else 1 s).", valueName: "seconds"))
    var window: Double?

    @Option(help: ArgumentHelp("Seconds from one window's start to the next.", valueName: "seconds"))
    var hop: Double = SlidingWindowPredictor.defaultHop

    @Option(name: [.short, .long], help: ArgumentHelp("Track file to write: .json or .csv.", valueName: "track"))
    var output: String

    @OptionGroup var presetOptions: PresetOptions

    @Option(name: [.short, .customLong("jobs")], help: "Threads for the neural network.")
    var jobs: Int = 2

    @Flag(help: "Print nothing on success.")
    var quiet = false

    @Flag(help: "Print a JSON summary on success.")
    var json = false

    func validate() throws {
        if let window, !(window.isFinite && window > 0) { throw ValidationError("--window must be a positive number of seconds, got \(window)") }
        guard hop.isFinite, hop > 0 else { throw ValidationError("--hop must be a positive number of seconds, got \(hop)") }
        guard jobs >= 1 else { throw ValidationError("--jobs must be at least 1, got \(jobs)") }
        guard ListeningMode(rawValue: mode) != nil else { throw ValidationError("--mode must be auto, sequence or window, got \(mode)") }
        let suffix = URL(fileURLWithPath: output).pathExtension.lowercased()
        guard suffix == "json" || suffix == "csv" else {
            throw ValidationError("-o/--output must end in .json or .csv, got \"\(output)\"")
        }
    }

    func run() throws {
        // The folder to load and how to hear it (auto: the sequence model when there is one).
        let folder: URL
        let heard: ListeningMode
        do {
            (folder, heard) = try ListeningMode(rawValue: mode)!.resolve(try resolveModel())
        } catch {
            printError(oneLineMessage(error))
            throw ExitCode(1)
        }
        if heard == .sequence { return try runSequence(folder) }
        do {
            RuntimeThreads.configure(jobs)
            let emotionModel = try ModelLoader.load(directory: folder)
            let audioURL = URL(fileURLWithPath: audio)
            let stream = try AudioStream(url: audioURL, sampleRate: emotionModel.sampleRate)
            // A progress line on a terminal only (redirected output stays plain).
            let showProgress = !quiet && !json && isatty(STDERR_FILENO) == 1
            let total = stream.info.duration
            var lastShown = -1.0
            let track = try SlidingWindowPredictor(window: window ?? SlidingWindowPredictor.defaultWindow(for: emotionModel), hop: hop).predict(
                stream, model: emotionModel, source: audioURL.lastPathComponent,
                progress: showProgress
                    ? { heard in
                        guard heard - lastShown >= 1 else { return }
                        lastShown = heard
                        let of = total.map { " of \(DecimalFormat.fixed($0, 1)) s" } ?? ""
                        FileHandle.standardError.write(Data("\rpredicting: \(DecimalFormat.fixed(heard, 1)) s\(of)".utf8))
                    } : nil)
            if showProgress { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
            let outputURL = URL(fileURLWithPath: output)
            try track.write(to: outputURL)
            let seconds = Double(stream.samplesDelivered) / Double(emotionModel.sampleRate)
            if json {
                let summary: JSONValue = .object(
                    JSONObject([
                        ("output", .string(output)), ("frames", .integer(Int64(track.frameCount))),
                        ("emotions", .array(track.emotions.map { .string($0) })),
                        ("seconds", .decimal(seconds, places: 3)), ("model", .string(emotionModel.identifier)), ("mode", "window"),
                        ("dominant", track.dominantEmotion.map { .string($0) } ?? .null),
                    ]))
                print(try JSONCodec.serialize(summary, style: .compact), terminator: "")
            } else if !quiet {
                print(
                    "\(output): \(track.frameCount) frames over \(DecimalFormat.fixed(seconds, 2)) s, \(track.emotionCount) emotions, mostly \(track.dominantEmotion ?? "-") (\(emotionModel.identifier))")
            }
        } catch {
            printError(oneLineMessage(error))
            throw ExitCode(1)
        }
    }

    func resolveModel() throws -> URL {
        if let model { return URL(fileURLWithPath: model) }
        let presetsDirectory: URL
        do {
            presetsDirectory = try ResourceLocator.presetsDirectory(explicit: presetOptions.presets)
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
