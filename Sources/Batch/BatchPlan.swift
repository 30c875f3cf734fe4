import Common
import Foundation

/// The result of one line in a run.
public struct LineResult: Sendable {
    public enum Action: String, Sendable {
        /// Predicted (or read), rendered and written.
        case baked
        /// Unchanged since the last run: its outputs were kept.
        case cached
        case failed
        /// Not tried because `--fail-fast` stopped the batch.
        case cancelled
    }

    public var index: Int
    public var line: DialogueLine
    /// nil when the line failed before its job was known (bad id, unknown character, ...).
    public var job: BakeJob?
    public var audioSHA256: String?
    public var trackSHA256: String?
    /// The line's record for ok lines.
    public var record: LineRecord?
    public var errorCode: String?
    public var message: String?
    public var action: Action
    /// Wall time spent on the line.
    public var seconds: Double

    public var isOK: Bool { record != nil }
}

/// A script line after planning: a job to bake, or a failure known before baking.
struct PlannedLine: Sendable {
    var index: Int
    var line: DialogueLine
    var job: BakeJob?
    var failure: BatchError?
    /// The key that picks the line's shard (its scene for timeline lines, else its id).
    var shardKey: String
}

enum BatchPlanner {
    /// Resolves every line: settings, output path, input files. Per-line problems become
    /// failures of that line; nothing is touched on disk.
    static func plan(script: DialogueScript, project: BakeProject) -> [PlannedLine] {
        var planned: [PlannedLine] = []
        var firstLocationOfID: [String: String] = [:]
        var firstIDOfOutput: [String: String] = [:]
        for (index, line) in script.lines.enumerated() {
            let sceneName = line.scene ?? script.name
            let shardKey = line.start != nil
                ? "scene:" + SceneTimeline.groupKey(language: line.language, scene: sceneName) : "line:" + line.id
            var entry = PlannedLine(index: index, line: line, job: nil, failure: nil, shardKey: shardKey)
            do {
                if let problem = line.problem { throw BatchError("line.invalid", problem) }
                if let problem = OutputPath.problem(inName: line.id) {
                    throw BatchError("line.id", "id \"\(line.id)\" \(problem)")
                }
                if let first = firstLocationOfID[line.id] {
                    throw BatchError("line.duplicateID", "id \"\(line.id)\" is used twice (first at \(first))")
                }
                firstLocationOfID[line.id] = line.location
                if line.start != nil {
                    if let problem = OutputPath.problem(inName: sceneName) {
                        throw BatchError("line.scene", "scene \"\(sceneName)\" \(problem)")
                    }
                    if let language = line.language, let problem = OutputPath.problem(inName: language) {
                        throw BatchError("line.language", "language \"\(language)\" \(problem)")
                    }
                }
                let settings = try project.settings(for: line.character).get()
                var values = ["id": line.id, "character": line.character, "scene": sceneName, "script": script.name]
                if let language = line.language { values["language"] = language }
                let outputBase = try project.outputTemplate.expand(values)
                if let other = firstIDOfOutput[outputBase] {
                    throw BatchError("line.duplicateOutput", "output path \"\(outputBase)\" is also the output of line \"\(other)\"")
                }
                firstIDOfOutput[outputBase] = line.id
                entry.job = BakeJob(
                    index: index, line: line, settings: settings, outputBase: outputBase,
                    audioURL: line.audio.map { resolve($0, against: script.directory) },
                    trackURL: line.track.map { resolve($0, against: script.directory) })
            } catch let error as BatchError {
                entry.failure = error
            } catch {
                entry.failure = BatchError("line.invalid", oneLineMessage(error))
            }
            planned.append(entry)
        }
        return planned
    }

    static func resolve(_ path: String, against directory: URL) -> URL {
        path.hasPrefix("/") ? URL(fileURLWithPath: path) : directory.appendingPathComponent(path)
    }
}
