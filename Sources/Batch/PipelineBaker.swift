import AudioIO
import Common
import Curves
import EmotionCore
import ExportFormats
import ExportKit
import Foundation
import JSONIO
import Recognition

/// The real pipeline behind `emobake bake`: audio -> model -> track (or a track file), then
/// ClipBuilder with the character's rig and smoothing presets, then each output format.
public final class PipelineBaker: LineBaker, @unchecked Sendable {
    public let project: BakeProject
    public let presetsDirectory: URL
    public let exportSettings: ExportSettings
    public let generator: String
    private let lock = NSLock()
    private var rigs: [String: Result<(RigPreset, String), CurvesError>] = [:]
    private var smoothings: [String: Result<(SmoothingPreset, String), CurvesError>] = [:]
    private var modelState: Result<ResolvedModel, BatchError>?

    /// The model folder as resolved for this run: the folder whose files are loaded and hashed
    /// (the sequence model's own folder in sequence mode) and the mode.
    struct ResolvedModel {
        var description: ModelDescription
        var folder: URL
        var mode: ListeningMode
    }

    public init(project: BakeProject, presetsDirectory: URL, exportSettings: ExportSettings = ExportSettings(), generator: String) {
        self.project = project
        self.presetsDirectory = presetsDirectory
        self.exportSettings = exportSettings
        self.generator = generator
    }

    /// The model folder: a name under `Presets/models`, or a path (relative to the project file).
    public var modelFolder: URL {
        let model = project.model
        if model.contains("/") {
            if model.hasPrefix("/") { return URL(fileURLWithPath: model) }
            return (project.directory ?? URL(fileURLWithPath: FileManager.default.currentDirectoryPath)).appendingPathComponent(model)
        }
        return presetsDirectory.appendingPathComponent("models").appendingPathComponent(model)
    }

    // MARK: - LineBaker

    public func fingerprint(for job: BakeJob) throws -> String {
        let (settings, rigHash, smoothingHash) = try conversionSettings(for: job.settings)
        var parts = settings.settingsSummary.map { "\($0.key)=\($0.value)" }
        parts.append("rigFile=\(rigHash)")
        parts.append("smoothingFile=\(smoothingHash)")
        parts.append("formats=\(project.formats.map(\.rawValue).joined(separator: ","))")
        parts.append("csvLayout=\(exportSettings.csvLayout)")
        if let rigModel = exportSettings.rigModel { parts.append("rigModel=\((try? SHA256.hex(ofFileAt: rigModel)) ?? rigModel.path)") }
        if job.trackURL == nil {
            let model = try resolveModel()
            parts.append("model=\(model.description.identifier) \(model.description.sha256)")
            if model.mode == .sequence {
                parts.append("mode=sequence")
            } else {
                parts.append("window=\(project.window.map { DecimalFormat.trimmed($0, 6) } ?? "-") hop=\(project.hop.map { DecimalFormat.trimmed($0, 6) } ?? "-")")
            }
        }
        return parts.joined(separator: "\n")
    }

    public func modelDescription() -> ModelDescription? {
        lock.lock()
        defer { lock.unlock() }
        if case .success(let resolved) = modelState { return resolved.description }
        return nil
    }

    public func makeWorker() throws -> any LineWorker { Worker(baker: self) }

    /// One glb with every line of the scene on one time axis (see `SceneClip`).
    public func renderTimeline(_ scene: SceneTimeline) throws -> [ExportedFile] {
        var clips: [(character: String, start: Double, clip: AnimationClip)] = []
        for entry in scene.clips {
            let (settings, _, _) = try conversionSettings(for: entry.job.settings)
            let clip = try ClipBuilder.makeClip(
                from: entry.record.track, name: entry.job.line.id, settings: settings, source: entry.record.track.source ?? entry.job.line.id,
                model: entry.record.track.model)
            clips.append((entry.job.line.character, entry.start, clip))
        }
        let name = scene.outputBase.split(separator: "/").last.map(String.init) ?? scene.scene
        let combined = try SceneClip.combine(clips, name: name, frameRate: project.frameRate, generator: generator)
        return try ExportFormat.glb.makeExporter(exportSettings).render(combined, baseName: name)
    }

    // MARK: - Settings and model

    /// The conversion settings of a character, with SHA-256 of its rig and smoothing files.
    func conversionSettings(for character: CharacterSettings) throws -> (ConversionSettings, String, String) {
        let rig = try preset(character.rig, cache: \.rigs) { name in
            let rig = try RigPreset.load(name, presetsDirectory: self.presetsDirectory)
            return (rig, try rig.file.map { try SHA256.hex(ofFileAt: URL(fileURLWithPath: $0)) } ?? "-")
        }
        let smoothing = try preset(character.smoothing, cache: \.smoothings) { name in
            let smoothing = try SmoothingPreset.load(name, presetsDirectory: self.presetsDirectory)
            return (smoothing, try smoothing.file.map { try SHA256.hex(ofFileAt: URL(fileURLWithPath: $0)) } ?? "-")
        }
        var settings = ConversionSettings(rig: rig.0, smoothing: smoothing.0)
        settings.frameRate = project.frameRate
        settings.interpolation = project.interpolation
        settings.keyTolerance = project.keyTolerance
        settings.postProcessing = project.postProcessing
        settings.intensity = character.intensity
        settings.generator = generator
        try settings.validate()
        return (settings, rig.1, smoothing.1)
    }

    /// Loads a preset once per run; names that are paths are relative to the project file.
    private func preset<Value>(
        _ nameOrPath: String, cache: ReferenceWritableKeyPath<PipelineBaker, [String: Result<(Value, String), CurvesError>]>,
        load: (String) throws -> (Value, String)
    ) throws -> (Value, String) {
        lock.lock()
        defer { lock.unlock() }
        if let known = self[keyPath: cache][nameOrPath] { return try known.get() }
        var resolved = nameOrPath
        if (nameOrPath.contains("/") || nameOrPath.lowercased().hasSuffix(".json")) && !nameOrPath.hasPrefix("/"), let directory = project.directory {
            resolved = directory.appendingPathComponent(nameOrPath).path
        }
        let result: Result<(Value, String), CurvesError>
        do {
            result = .success(try load(resolved))
        } catch let error as CurvesError {
            result = .failure(error)
        } catch {
            result = .failure(CurvesError("preset.error", oneLineMessage(error)))
        }
        self[keyPath: cache][nameOrPath] = result
        return try result.get()
    }

    /// The model's folder, mode and identity (identifier and a hash of its files). Computed once.
    func resolveModel() throws -> ResolvedModel {
        lock.lock()
        defer { lock.unlock() }
        if let modelState { return try modelState.get() }
        let folder = modelFolder
        let state: Result<ResolvedModel, BatchError>
        do {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw BatchError(
                    "model.missing",
                    "no emotion model at \(folder.path): give the line a track, or set \"model\" in the project file")
            }
            let (loaded, mode): (URL, ListeningMode)
            do {
                (loaded, mode) = try project.requestedMode.resolve(modelFolder)
            } catch let error as RecognitionError {
                throw BatchError("model.mode", error.message)
            }
            // The files the model is made of; subfolders (the shipped default's sequence/ model,
            // when hearing with windows) are not read.
            let files = try FileManager.default.contentsOfDirectory(atPath: loaded.path).filter { name in
                var isFolder: ObjCBool = false
                return !name.hasPrefix(".") && !name.hasSuffix(".md")
                    && FileManager.default.fileExists(atPath: loaded.appendingPathComponent(name).path, isDirectory: &isFolder) && !isFolder.boolValue
            }.sorted()
            var text = ""
            for file in files { text += "\(file) \(try SHA256.hex(ofFileAt: loaded.appendingPathComponent(file)))\n" }
            let identifier = ModelLoader.identifier(ofModelIn: loaded) ?? loaded.lastPathComponent
            state = .success(
                ResolvedModel(
                    description: ModelDescription(name: project.model, identifier: identifier, sha256: SHA256.hex(of: text), mode: mode.rawValue),
                    folder: loaded, mode: mode))
        } catch let error as BatchError {
            state = .failure(error)
        } catch {
            state = .failure(BatchError("model.unreadable", "\(folder.path): \(oneLineMessage(error))"))
        }
        modelState = state
        return try state.get()
    }

    // MARK: - Worker

    final class Worker: LineWorker {
        let baker: PipelineBaker
        private var listener: Listener?

        init(baker: PipelineBaker) { self.baker = baker }

        func emotion(for job: BakeJob) throws -> LineEmotion {
            if let trackURL = job.trackURL {
                let track = try EmotionTrack.read(from: trackURL)
                return LineEmotion(track: track, duration: track.duration)
            }
            guard let audioURL = job.audioURL else { throw BatchError("line.invalid", "needs an audio file or a track") }
            let resolved = try baker.resolveModel()
            if listener == nil { listener = try Listener(resolved, project: baker.project) }
            let audio = try AudioDecoder.read(audioURL)
            var track = try listener!.track(audio, source: audioURL.lastPathComponent)
            track.model = track.model ?? resolved.description.identifier
            return LineEmotion(track: track, duration: audio.duration)
        }

        func render(_ track: EmotionTrack, for job: BakeJob) throws -> [ExportedFile] {
            let (settings, _, _) = try baker.conversionSettings(for: job.settings)
            let source = job.trackURL?.lastPathComponent ?? job.audioURL?.lastPathComponent ?? job.line.id
            let clip = try ClipBuilder.makeClip(from: track, name: job.line.id, settings: settings, source: source, model: track.model)
            var files: [ExportedFile] = []
            for format in baker.project.formats {
                files += try format.makeExporter(baker.exportSettings).render(clip, baseName: job.baseName)
            }
            return files
        }
    }
}

/// A loaded model and how it hears a line: a sequence model over the whole clip, or a Stage 1
/// model over sliding windows (the project's window and hop). One per worker thread (models
/// keep buffers).
enum Listener {
    case window(any EmotionModel, SlidingWindowPredictor)
    case sequence(SequenceModel, SequencePredictor)

    init(_ model: PipelineBaker.ResolvedModel, project: BakeProject) throws {
        switch model.mode {
        case .sequence:
            self = .sequence(try SequenceModel.load(directory: model.folder), SequencePredictor())
        case .window, .auto:
            let loaded = try ModelLoader.load(directory: model.folder)
            let predictor = SlidingWindowPredictor(
                window: project.window ?? SlidingWindowPredictor.defaultWindow(for: loaded), hop: project.hop ?? SlidingWindowPredictor.defaultHop)
            self = .window(loaded, predictor)
        }
    }

    func track(_ audio: AudioBuffer, source: String) throws -> EmotionTrack {
        switch self {
        case .window(let model, let predictor): return try predictor.predict(audio, model: model, source: source)
        case .sequence(let model, let predictor): return try predictor.predict(audio, model: model, source: source)
        }
    }
}
