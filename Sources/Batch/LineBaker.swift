import EmotionCore
import ExportKit
import Foundation

/// One script line, ready to bake: the line, its character's settings and where it goes.
public struct BakeJob: Sendable {
    /// The line's position in the script (0-based); outputs are ordered by it.
    public var index: Int
    public var line: DialogueLine
    public var settings: CharacterSettings
    /// The output path without extension, relative to the output folder (`en/alice/intro_01`).
    public var outputBase: String
    /// The audio file (resolved against the script's folder), if the line has one.
    public var audioURL: URL?
    /// The emotion track file used instead of predicting from audio, if the line has one.
    public var trackURL: URL?

    /// The output files' base name: the last component of `outputBase`.
    public var baseName: String { String(outputBase.split(separator: "/").last ?? "") }
    /// The folder of the outputs, relative to the output folder ("" for the top).
    public var outputFolder: String { outputBase.split(separator: "/").dropLast().joined(separator: "/") }
}

/// The emotion of one line, before the hint prior.
public struct LineEmotion: Sendable {
    public var track: EmotionTrack
    /// The line's length in seconds (the audio's, or the track's for track lines).
    public var duration: Double

    public init(track: EmotionTrack, duration: Double) {
        self.track = track
        self.duration = duration
    }
}

/// What the batch needs from the rest of EmoBake to bake a line: the real pipeline
/// (model, curves, exporters) implements it, and tests can plug in a small one. The batch
/// machinery (scheduling, cache, manifests, reports) only sees this protocol.
public protocol LineBaker: Sendable {
    /// Text that changes whenever anything other than the line's input bytes would change
    /// its outputs: settings, the contents of the presets used, the formats, the model (for
    /// audio lines) and the tool version. Throws when a setting cannot be resolved (for
    /// example an unknown rig preset), which fails the line.
    func fingerprint(for job: BakeJob) throws -> String

    /// The model the audio lines use, for the manifest (nil when no audio line was baked or
    /// checked).
    func modelDescription() -> ModelDescription?

    /// A worker for one thread; workers are never shared between threads, so they may hold
    /// buffers or a model instance.
    func makeWorker() throws -> any LineWorker

    /// Renders a scene's timeline files (lines placed at their start times). Returns nothing
    /// when the baker has no timeline format.
    func renderTimeline(_ scene: SceneTimeline) throws -> [ExportedFile]
}

/// Bakes lines on one thread.
public protocol LineWorker: AnyObject {
    /// Predicts (audio) or reads (track) the line's emotion.
    func emotion(for job: BakeJob) throws -> LineEmotion
    /// Turns the line's final emotion track into export files named `job.baseName + suffix`.
    func render(_ track: EmotionTrack, for job: BakeJob) throws -> [ExportedFile]
}

/// The model named in manifests.
public struct ModelDescription: Sendable, Equatable {
    public var name: String
    public var identifier: String
    /// SHA-256 over the model folder's files (config and weights).
    public var sha256: String
    /// How audio lines were heard: "sequence" or "window" (nil in manifests of older versions).
    public var mode: String?

    public init(name: String, identifier: String, sha256: String, mode: String? = nil) {
        self.name = name
        self.identifier = identifier
        self.sha256 = sha256
        self.mode = mode
    }
}
