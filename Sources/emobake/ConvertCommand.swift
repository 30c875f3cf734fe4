import ArgumentParser
import Common
import Curves
import EmotionCore
import ExportFormats
import ExportKit
import Foundation
import JSONIO

struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert emotion tracks into blendshape animation (glTF/GLB, FBX ASCII, CSV, XML timeline).",
        discussion: """
            Each TRACK (emotion track JSON or CSV, or Audio2Face emotion CSV) becomes
            DIR/<track name>.<ext> for each format. All formats of a track are rendered before
            any is written, and every file is written to a temporary name and renamed, so a
            failure leaves no partial output.

            Examples:
              emobake convert Fixtures/tracks/demo.json -o out
              emobake convert line.json -o out --rig vrm --smoothing game --fps 60 --format glb,csv
              emobake convert line.json -o out --rig my_rig.json --rig-model hero.glb --format glb
              emobake convert a2f_emotions.csv -o out --contrast 1.5 --max-emotions 2 --gain angry=0.8
            """)

    @Argument(help: ArgumentHelp("Emotion track files (.json or .csv).", valueName: "TRACK"))
    var tracks: [String]

    @Option(name: [.short, .customLong("output")], help: ArgumentHelp("Output folder (created if needed).", valueName: "DIR"))
    var output: String

    @Option(help: ArgumentHelp("Rig preset name or JSON file (see `emobake presets list`).", valueName: "NAME|FILE"))
    var rig: String = RigPreset.defaultName

    @Option(help: ArgumentHelp("Smoothing preset name or JSON file.", valueName: "NAME|FILE"))
    var smoothing: String = SmoothingPreset.defaultName

    @Option(help: ArgumentHelp("Output frame rate: 24, 25, 30, 48, 50, 60, 120, 29.97, or a fraction like 30000/1001.", valueName: "N"))
    var fps: String = "30"

    @Option(help: ArgumentHelp("Comma-separated formats: glb, gltf, fbx, csv, xml, or all.", valueName: "LIST"))
    var format: String = "all"

    @Option(help: "Key interpolation: linear, step or cubic.")
    var interpolation: String = Interpolation.linear.rawValue

    @Option(help: ArgumentHelp("Key reduction tolerance in weight units (0 keeps every changing frame).", valueName: "X"))
    var tolerance: Double = ConversionSettings.defaultKeyTolerance

    @Option(help: ArgumentHelp("Scale of every blendshape weight (per character), before clamping to [0, 1].", valueName: "X"))
    var intensity: Double = 1

    @Option(name: .customLong("csv-layout"), help: "CSV table shape: wide, long or unreal.")
    var csvLayout: String = "wide"

    @Option(name: .customLong("rig-model"), help: ArgumentHelp("Add the animation to this glTF/GLB model's morph targets (glTF formats).", valueName: "FILE"))
    var rigModel: String?

    @Option(name: .customLong("post"), help: ArgumentHelp("Emotion post-processing settings from a JSON file (flags below override it).", valueName: "FILE"))
    var postFile: String?

    @Option(help: ArgumentHelp("Sharpen (> 1) or flatten (< 1) the mixture.", valueName: "X"))
    var contrast: Double?

    @Option(name: .customLong("max-emotions"), help: ArgumentHelp("Keep only the strongest K emotions per frame.", valueName: "K"))
    var maxEmotions: Int?

    @Option(name: .customLong("blend-previous"), help: ArgumentHelp("Blend each frame with the previous output, 0 to 1.", valueName: "C"))
    var blendPrevious: Double?

    @Option(name: .customLong("transition-smoothing"), help: ArgumentHelp("Time constant of emotion transitions, seconds.", valueName: "S"))
    var transitionSmoothing: Double?

    @Option(name: .customLong("preferred-emotion"), help: ArgumentHelp("An emotion mixed into every frame (with --preferred-strength).", valueName: "NAME"))
    var preferredEmotion: String?

    @Option(name: .customLong("preferred-strength"), help: ArgumentHelp("How much of the preferred emotion, 0 to 1.", valueName: "X"))
    var preferredStrength: Double?

    @Option(help: ArgumentHelp("Overall emotion strength, 0 to 1 (the rest goes to neutral).", valueName: "X"))
    var strength: Double?

    @Option(name: .customLong("confidence-weighting"), help: ArgumentHelp("Pull low-confidence frames toward neutral: the concentration c0 at which a frame keeps half its emotion (0 = off).", valueName: "C0"))
    var confidenceWeighting: Double?

    @Option(name: .customLong("gain"), help: ArgumentHelp("Per-emotion gain, repeatable: --gain angry=0.5.", valueName: "EMOTION=X"))
    var gains: [String] = []

    @OptionGroup var presetOptions: PresetOptions

    @Flag(name: .long, help: "Print nothing but errors.")
    var quiet = false

    @Flag(name: .long, help: "Print one JSON line per track instead of text.")
    var json = false

    func validate() throws {
        if json && quiet { throw ValidationError("--json and --quiet cannot be used together") }
        guard Interpolation(rawValue: interpolation) != nil else {
            throw ValidationError("--interpolation must be linear, step or cubic, not \"\(interpolation)\"")
        }
        guard CSVLayout(rawValue: csvLayout) != nil else {
            throw ValidationError("--csv-layout must be wide, long or unreal, not \"\(csvLayout)\"")
        }
        for gain in gains where gain.split(separator: "=").count != 2 || Double(gain.split(separator: "=").last ?? "") == nil {
            throw ValidationError("--gain takes EMOTION=NUMBER, not \"\(gain)\"")
        }
    }

    func run() throws {
        let settings: ConversionSettings
        let formats: [ExportFormat]
        var exportSettings = ExportSettings()
        do {
            let presetsDirectory = try presetOptions.directory()
            formats = try ExportFormat.parseList(format)
            var built = ConversionSettings(
                rig: try RigPreset.load(rig, presetsDirectory: presetsDirectory),
                smoothing: try SmoothingPreset.load(smoothing, presetsDirectory: presetsDirectory))
            built.frameRate = try FrameRate.parse(fps)
            built.interpolation = Interpolation(rawValue: interpolation)!
            built.keyTolerance = tolerance
            built.intensity = intensity
            built.generator = "EmoBake \(EmoBake.version)"
            built.postProcessing = try postProcessing()
            try built.validate()
            settings = built
            exportSettings.csvLayout = CSVLayout(rawValue: csvLayout)!
            if let rigModel { exportSettings.rigModel = URL(fileURLWithPath: rigModel) }
        } catch let error as ValidationError {
            throw error
        } catch {
            // Settings come from the command line: a bad preset or value is bad usage.
            throw ValidationError(oneLineMessage(error))
        }

        let outputDirectory = URL(fileURLWithPath: output)
        var failures = 0
        for path in tracks {
            let baseName = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
            do {
                let track = try EmotionTrack.read(from: URL(fileURLWithPath: path))
                let clip = try ClipBuilder.makeClip(
                    from: track, name: baseName, settings: settings, source: URL(fileURLWithPath: path).lastPathComponent,
                    model: track.model)
                var rendered: [[ExportedFile]] = []
                var warnings: [String] = []
                for format in formats {
                    let result = try format.makeExporter(exportSettings).renderReportingWarnings(clip, baseName: baseName)
                    rendered.append(result.files)
                    // glb and gltf report the same rig-model mismatches: say each once.
                    warnings.append(contentsOf: result.warnings.filter { !warnings.contains($0) })
                }
                var written: [URL] = []
                do {
                    for files in rendered {
                        written += try ExportWriter.write(files, baseName: baseName, in: outputDirectory)
                    }
                } catch {
                    for url in written { try? FileManager.default.removeItem(at: url) }
                    throw error
                }
                report(path: path, clip: clip, written: written, warnings: warnings)
            } catch {
                failures += 1
                if json {
                    printJSONLine(["track": .string(path), "status": "failed", "message": .string(oneLineMessage(error))])
                } else {
                    printError(oneLineMessage(error))
                }
            }
        }
        if failures > 0 { throw ExitCode(1) }
    }

    private func postProcessing() throws -> EmotionPostProcessing {
        var post = EmotionPostProcessing()
        if let postFile {
            let url = URL(fileURLWithPath: postFile)
            post = try EmotionPostProcessing(json: JSONField(try JSONCodec.parse(contentsOf: url), source: url.path))
        }
        if let contrast { post.contrast = contrast }
        if let maxEmotions { post.maxEmotions = maxEmotions }
        if let blendPrevious { post.blendWithPrevious = blendPrevious }
        if let transitionSmoothing { post.transitionSmoothing = transitionSmoothing }
        if let preferredEmotion { post.preferredEmotion = preferredEmotion }
        if let preferredStrength { post.preferredStrength = preferredStrength }
        if let strength { post.strength = strength }
        if let confidenceWeighting { post.confidenceWeighting = confidenceWeighting }
        for gain in gains {
            let parts = gain.split(separator: "=")
            post.gains[String(parts[0])] = Double(parts[1])!
        }
        try post.validate()
        return post
    }

    private func report(path: String, clip: AnimationClip, written: [URL], warnings: [String]) {
        let keyCount = clip.curves.reduce(0) { $0 + $1.keys.count }
        if json {
            printJSONLine([
                "track": .string(path), "status": "done", "duration": .decimal(clip.duration, places: 3),
                "channels": .integer(Int64(clip.curves.count)), "keys": .integer(Int64(keyCount)),
                "outputs": .array(written.map { .string($0.path) }), "warnings": .array(warnings.map { .string($0) }),
            ])
            return
        }
        for warning in warnings { printError("warning: \(path): \(warning)") }
        if !quiet {
            print(
                "\(path): \(DecimalFormat.fixed(clip.duration, 2)) s, \(clip.curves.count) blendshapes, \(keyCount) keys -> "
                    + written.map(\.lastPathComponent).joined(separator: ", "))
        }
    }
}

/// One compact JSON object per line, for build systems.
func printJSONLine(_ object: JSONObject) {
    if let text = try? JSONCodec.serialize(.object(object), style: .compact) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}

func printJSONLine(_ entries: KeyValuePairs<String, JSONValue>) {
    printJSONLine(JSONObject(entries.map { (key: $0.key, value: $0.value) }))
}
