import Common
import Curves
import ExportKit
import Foundation
import JSONIO
import Recognition

/// How one character's lines are animated.
public struct CharacterSettings: Sendable, Equatable {
    /// A rig preset name (`Presets/rigs/<name>.json`) or a rig file (relative to the project file).
    public var rig: String
    /// A smoothing preset name (`Presets/smoothing/<name>.json`) or a file.
    public var smoothing: String
    /// Scales the animation (1 = as predicted).
    public var intensity: Double

    public init(rig: String, smoothing: String, intensity: Double) {
        self.rig = rig
        self.smoothing = smoothing
        self.intensity = intensity
    }
}

/// The project file: per-character settings, output formats, frame rate, the output path
/// template, the model and the strength of emotion hints. Every field is optional:
///
/// ```json
/// {
///   "output": "{language}/{character}/{id}",
///   "formats": ["glb", "csv"],
///   "frameRate": "30",
///   "model": "default", "mode": "auto",
///   "emotionHintStrength": 0.5,
///   "interpolation": "linear", "keyTolerance": 0.002, "postProcessing": {"contrast": 1.5},
///   "defaults": {"rig": "arkit52", "smoothing": "film", "intensity": 1.0},
///   "characters": {"alice": {"rig": "arkit52", "intensity": 0.8}, "bob": {"rig": "rigs/bob.json"}}
/// }
/// ```
/// When `characters` is given, a line whose character is not listed fails; without it every
/// character uses `defaults`.
public struct BakeProject: Sendable {
    public static let defaultTemplate = "{character}/{id}"
    public static let defaultCharacter = CharacterSettings(rig: "arkit52", smoothing: "film", intensity: 1)

    /// The project file, nil for the built-in defaults.
    public var url: URL?
    public var outputTemplate: OutputTemplate
    public var formats: [ExportFormat]
    public var frameRate: FrameRate
    /// A model name under `Presets/models` or a model folder (relative to the project file).
    public var model: String
    /// `s` in the hint prior `alpha'_i = alpha_i + s * sum(alpha) * onehot(hint)_i`.
    public var emotionHintStrength: Double
    /// How audio lines are heard. `auto`: the model's sequence model (its `sequence/`
    /// subfolder) when it has one and the project sets neither `window` nor `hop`, else
    /// sliding windows.
    public var mode: ListeningMode = .auto
    /// Sliding-window length and hop in seconds for audio lines (window mode); nil keeps the
    /// predictor's defaults.
    public var window: Double?
    public var hop: Double?

    /// The mode asked for, with `auto` kept for the model folder to settle: a project that sets
    /// a window or hop asked for windows.
    public var requestedMode: ListeningMode {
        mode == .auto && (window != nil || hop != nil) ? .window : mode
    }
    /// Key interpolation of every clip.
    public var interpolation: Interpolation = .linear
    /// Key reduction tolerance in weight units.
    public var keyTolerance: Double = ConversionSettings.defaultKeyTolerance
    /// Emotion post-processing before mapping (contrast, top-k, gains...), as `convert --post`.
    public var postProcessing = EmotionPostProcessing()
    public var defaults: CharacterSettings
    /// nil: every character uses `defaults`.
    public var characters: [String: CharacterSettings]?

    public init(
        url: URL? = nil, outputTemplate: OutputTemplate = try! OutputTemplate(BakeProject.defaultTemplate),
        formats: [ExportFormat] = [.glb, .csv], frameRate: FrameRate = FrameRate(numerator: 30), model: String = "default",
        emotionHintStrength: Double = EmotionHint.defaultStrength, window: Double? = nil, hop: Double? = nil,
        defaults: CharacterSettings = BakeProject.defaultCharacter, characters: [String: CharacterSettings]? = nil
    ) {
        self.url = url
        self.outputTemplate = outputTemplate
        self.formats = formats
        self.frameRate = frameRate
        self.model = model
        self.emotionHintStrength = emotionHintStrength
        self.window = window
        self.hop = hop
        self.defaults = defaults
        self.characters = characters
    }

    /// The folder that relative rig, smoothing and model paths start from.
    public var directory: URL? { url?.deletingLastPathComponent() }

    /// The settings of a character, or why the line cannot be baked.
    public func settings(for character: String) -> Result<CharacterSettings, BatchError> {
        guard let characters else { return .success(defaults) }
        if let settings = characters[character] { return .success(settings) }
        let known = characters.keys.sorted().joined(separator: ", ")
        return .failure(
            BatchError("line.character", "character \"\(character)\" is not in the project file (known: \(known))"))
    }

    public static func load(_ url: URL) throws -> BakeProject {
        let source = url.path
        let root = JSONField(try JSONCodec.parse(contentsOf: url), source: source)
        guard root.value.objectValue != nil else { throw root.fail("expected an object, found \(root.value.kindName)") }
        let known = [
            "output", "formats", "frameRate", "model", "mode", "emotionHintStrength", "window", "hop", "interpolation", "keyTolerance",
            "postProcessing", "defaults", "characters",
        ]
        for (key, field) in try root.object() where !known.contains(key) {
            throw field.fail("unknown field (known: \(known.joined(separator: ", ")))", code: "project.field")
        }
        var project = BakeProject(url: url)
        if let field = try root.optional("output") {
            do {
                project.outputTemplate = try OutputTemplate(try field.string())
            } catch let error as BatchError {
                throw field.fail(error.message, code: error.code)
            }
        }
        if let field = try root.optional("formats") {
            let names: [String]
            if field.value.stringValue != nil { names = [try field.string()] } else { names = try field.strings() }
            do {
                project.formats = try ExportFormat.parseList(names.joined(separator: ","))
            } catch let error as ExportError {
                throw field.fail(error.message, code: error.code)
            }
        }
        if let field = try root.optional("frameRate") {
            let text = field.value.stringValue ?? field.value.doubleValue.map { DecimalFormat.trimmed($0, 6) } ?? ""
            do {
                project.frameRate = try FrameRate.parse(text)
            } catch let error as CurvesError {
                throw field.fail(error.message, code: error.code)
            }
        }
        if let field = try root.optional("model") { project.model = try field.string() }
        if let field = try root.optional("emotionHintStrength") { project.emotionHintStrength = try field.double(in: 0...100) }
        if let field = try root.optional("window") { project.window = try field.double(in: 0.05...30) }
        if let field = try root.optional("hop") { project.hop = try field.double(in: 0.01...30) }
        if let field = try root.optional("mode") {
            let name = try field.string()
            guard let mode = ListeningMode(rawValue: name) else {
                throw field.fail("unknown mode \"\(name)\" (use auto, sequence or window)", code: "project.field")
            }
            if mode == .sequence && (project.window != nil || project.hop != nil) {
                throw field.fail("\"window\" and \"hop\" apply to the window mode, not to \"sequence\"", code: "project.field")
            }
            project.mode = mode
        }
        if let field = try root.optional("interpolation") {
            let name = try field.string()
            guard let interpolation = Interpolation(rawValue: name) else {
                throw field.fail("unknown interpolation \"\(name)\" (use linear, step or cubic)", code: "project.field")
            }
            project.interpolation = interpolation
        }
        if let field = try root.optional("keyTolerance") { project.keyTolerance = try field.double(in: 0...1) }
        if let field = try root.optional("postProcessing") { project.postProcessing = try EmotionPostProcessing(json: field) }
        if let field = try root.optional("defaults") {
            project.defaults = try characterSettings(field, base: BakeProject.defaultCharacter)
        }
        if let field = try root.optional("characters") {
            var characters: [String: CharacterSettings] = [:]
            for (name, entry) in try field.object() {
                characters[name] = try characterSettings(entry, base: project.defaults)
            }
            project.characters = characters
        }
        return project
    }

    private static func characterSettings(_ field: JSONField, base: CharacterSettings) throws -> CharacterSettings {
        var settings = base
        for (key, entry) in try field.object() {
            switch key {
            case "rig": settings.rig = try entry.string()
            case "smoothing": settings.smoothing = try entry.string()
            case "intensity": settings.intensity = try entry.double(in: 0...10)
            default: throw entry.fail("unknown field (known: rig, smoothing, intensity)", code: "project.field")
            }
        }
        return settings
    }
}
