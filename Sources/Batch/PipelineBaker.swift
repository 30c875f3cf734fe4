import AudioIO
import Common
import Curves
import EmotionCore
import ExportFormats
import ExportKit
import Foundation
import JSONIO
import Recognition

/// How audio lines are heard: loading a model folder and predicting a track from 16 kHz
/// audio. The command line passes Recognition's loader and sliding-window predictor.
public struct ModelRuntime: Sendable {
    /// Loads the model in a folder; called once per worker thread (models keep buffers).
    public var load: @Sendable (URL) throws -> any EmotionModel
    /// Predicts the track of a whole line. `window` and `hop` are the project's (seconds),
    /// nil for the predictor's defaults.
    public var predict: @Sendable (_ audio: AudioBuffer, _ model: any EmotionModel, _ source: String, _ window: Double?, _ hop: Double?)
        throws -> EmotionTrack

    public init(
        load: @escaping @Sendable (URL) throws -> any EmotionModel,
        predict: @escaping @Sendable (AudioBuffer, any EmotionModel, String, Double?, Double?) throws -> EmotionTrack
    ) {
        self.load = load
        self.predict = predict
    }
}

/// The real pipeline behind `emobake bake`: audio -> model -> track (or a track file), then
/// ClipBuilder with the character's rig and smoothing presets, then each output format.
public final class PipelineBaker: LineBaker, @unchecked Sendable {
    public let project: BakeProject
    public let presetsDirectory: URL
    public let exportSettings: ExportSettings
    public let generator: String
    let runtime: ModelRuntime?
    private let lock = NSLock()
    private var rigs: [String: Result<(RigPreset, String), CurvesError>] = [:]
    private var smoothings: [String: Result<(SmoothingPreset, String), CurvesError>] = [:]
    private var modelState: Result<ModelDescription, BatchError>?

    public init(project: BakeProject, presetsDirectory: URL, exportSettings: ExportSettings = ExportSettings(), generator: String, runtime: ModelRuntime?) {
        self.project = project
        self.presetsDirectory = presetsDirectory
        self.exportSettings = exportSettings
        self.generator = generator
        self.runtime = runtime
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
            let model = try describeModel()
            parts.append("model=\(model.identifier) \(model.sha256)")
            parts.append("window=\(project.window.map { DecimalFormat.trimmed($0, 6) } ?? "-") hop=\(project.hop.map { DecimalFormat.trimmed($0, 6) } ?? "-")")
        }
        return parts.joined(separator: "\n")
    }

    public func modelDescription() -> ModelDescription? {
        lock.lock()
        defer { lock.unlock() }
        if case .success(let description) = modelState { return description }
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

    /// The model's identity: folder name, identifier and a hash of its files. Computed once.
    func describeModel() throws -> ModelDescription {
        lock.lock()
        defer { lock.unlock() }
        if let modelState { return try modelState.get() }
        let folder = modelFolder
        let state: Result<ModelDescription, BatchError>
        do {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw BatchError(
                    "model.missing",
                    "no emotion model at \(folder.path) (the default model is not shipped yet): give the line a track, or set \"model\" in the project file")
            }
            // The files the sliding-window model is made of; subfolders (the shipped default's
            // sequence/ model) are not read by bake.
            let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { name in
                var isFolder: ObjCBool = false
                return !name.hasPrefix(".") && !name.hasSuffix(".md")
                    && FileManager.default.fileExists(atPath: folder.appendingPathComponent(name).path, isDirectory: &isFolder) && !isFolder.boolValue
            }.sorted()
            var text = ""
            for file in files { text += "\(file) \(try SHA256.hex(ofFileAt: folder.appendingPathComponent(file)))\n" }
            let config = try? JSONCodec.parse(contentsOf: folder.appendingPathComponent("config.json"))
            let identifier = config?["identifier"]?.stringValue ?? config?["name"]?.stringValue ?? folder.lastPathComponent
            state = .success(ModelDescription(name: project.model, identifier: identifier, sha256: SHA256.hex(of: text)))
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
        private var model: (any EmotionModel)?

        init(baker: PipelineBaker) { self.baker = baker }

        func emotion(for job: BakeJob) throws -> LineEmotion {
            if let trackURL = job.trackURL {
                let track = try EmotionTrack.read(from: trackURL)
                return LineEmotion(track: track, duration: track.duration)
            }
            guard let audioURL = job.audioURL else { throw BatchError("line.invalid", "needs an audio file or a track") }
            guard let runtime = baker.runtime else {
                throw BatchError("model.unavailable", "this build cannot run emotion models yet: give the line a track")
            }
            let description = try baker.describeModel()
            if model == nil { model = try runtime.load(baker.modelFolder) }
            let audio = try AudioDecoder.read(audioURL)
            var track = try runtime.predict(audio, model!, audioURL.lastPathComponent, baker.project.window, baker.project.hop)
            track.model = track.model ?? description.identifier
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
