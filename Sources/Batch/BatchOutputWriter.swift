import Common
import ExportKit
import Foundation
import Curves
import JSONIO

/// Writes what a run (or a merge of shards) leaves beside the line outputs: scene timelines,
/// `report.csv`, `report.html`, `timings.json`, and last `manifest.json`. A shard writes its
/// manifest, `report.csv` and `timings.json` under `shards/I-of-N/`; `merge` writes the rest.
struct BatchOutputWriter {
    let output: OutputFolder
    let generator: String

    func folder(shard: Shard?) -> String { shard.map { "shards/\($0.folderName)/" } ?? "" }

    /// The files `write` puts in a run's report folder.
    static let reportNames: Set<String> = ["report.csv", "report.html", Manifest.timingsFile, "manifest.json"]

    /// Removes the temporary files (`AtomicFile`'s) that a killed run or merge left for any of
    /// `names` (or a name plus a suffix, as `line.glb` for `line`) in each folder, relative to
    /// the output folder ("" for the folder itself). Nothing else is touched.
    static func removeTemporaryFiles(_ namesByFolder: [String: Set<String>], in output: OutputFolder) {
        let manager = FileManager.default
        for (folder, names) in namesByFolder {
            let url = folder.isEmpty ? output.url : output.url.appendingPathComponent(folder)
            guard let entries = try? manager.contentsOfDirectory(atPath: url.path) else { continue }
            for entry in entries where entry.hasPrefix(AtomicFile.temporaryPrefix) {
                // ".emobake-tmp-<pid>-<random>-<name>"
                let parts = entry.dropFirst(AtomicFile.temporaryPrefix.count).split(separator: "-", maxSplits: 2)
                guard parts.count == 3 else { continue }
                let name = String(parts[2])
                if names.contains(name) || names.contains(where: { name.hasPrefix($0 + ".") }) {
                    try? manager.removeItem(at: url.appendingPathComponent(entry))
                }
            }
        }
    }

    func manifestPath(shard: Shard?) -> String { folder(shard: shard) + "manifest.json" }

    func finish(
        results: [LineResult], script: DialogueScript, project: BakeProject, model: ModelDescription?, shard: Shard?,
        baker: any LineBaker, jobs: Int, seconds: Double
    ) throws -> Manifest {
        let lines = results.map(ManifestLine.init(result:))
        let timelines = try writeTimelines(results: results, script: script, baker: baker)
        let manifest = Manifest(
            generator: generator, scriptName: script.url.lastPathComponent, scriptSHA256: try SHA256.hex(ofFileAt: script.url),
            scriptLineCount: script.lines.count, scriptFolder: relativePath(from: output.realPath, to: script.directory),
            projectName: project.url?.lastPathComponent, projectSHA256: try project.url.map { try SHA256.hex(ofFileAt: $0) },
            model: model, settings: Self.settingsJSON(project), shard: shard, lines: lines, timelines: timelines)
        var records: [Int: LineRecord] = [:]
        for result in results { if let record = result.record { records[result.index] = record } }
        let timings = Timings(
            jobs: jobs, shard: shard, seconds: seconds,
            lines: results.map { .init(id: $0.line.id, action: $0.action.rawValue, seconds: $0.seconds) })
        try write(manifest: manifest, records: records, timings: timings)
        return manifest
    }

    /// Writes the reports and then the manifest (in the shard's folder for a shard).
    func write(manifest: Manifest, records: [Int: LineRecord], timings: Timings) throws {
        let prefix = folder(shard: manifest.shard)
        try AtomicFile.write(ReportCSV.render(manifest.lines), to: try output.file(prefix + "report.csv"))
        if manifest.shard == nil {
            let rows = manifest.lines.map { line in
                ReportHTML.Row(
                    line: line, track: records[line.index]?.track,
                    audioLink: line.audio.map { $0.hasPrefix("/") ? "file://" + $0 : joinPath(manifest.scriptFolder, $0) })
            }
            let title = "EmoBake report: \(manifest.scriptName)"
            try AtomicFile.write(ReportHTML.render(title: title, rows: rows, generator: generator, model: manifest.model), to: try output.file(prefix + "report.html"))
        }
        try AtomicFile.write(try timings.jsonData(), to: try output.file(prefix + Manifest.timingsFile))
        try AtomicFile.write(try manifest.jsonData(), to: try output.file(prefix + "manifest.json"))
    }

    // MARK: - Scene timelines

    /// Where the timeline of a line's scene goes, without its suffix ("timelines/<language>/<scene>"),
    /// or nil for a line without a start time or with a scene or language name that could leave
    /// the folder (names were checked when planning; a line that failed that check has no job).
    static func timelineBase(of line: DialogueLine, scriptName: String) -> String? {
        let sceneName = line.scene ?? scriptName
        guard line.start != nil, OutputPath.problem(inName: sceneName) == nil,
            line.language.map({ OutputPath.problem(inName: $0) == nil }) ?? true
        else { return nil }
        return "timelines/" + (line.language.map { "\($0)/" } ?? "") + sceneName
    }

    private func writeTimelines(results: [LineResult], script: DialogueScript, baker: any LineBaker) throws -> [ManifestTimeline] {
        var scenes: [String: SceneTimeline] = [:]
        for result in results {
            guard let start = result.line.start, let base = Self.timelineBase(of: result.line, scriptName: script.name) else { continue }
            let sceneName = result.line.scene ?? script.name
            let key = SceneTimeline.groupKey(language: result.line.language, scene: sceneName)
            var scene = scenes[key] ?? SceneTimeline(scene: sceneName, language: result.line.language, outputBase: base, clips: [], missing: [])
            if let record = result.record, let job = result.job {
                scene.clips.append(SceneTimeline.Clip(job: job, start: start, record: record))
            } else {
                scene.missing.append(
                    SceneTimeline.Missing(id: result.line.id, character: result.line.character, start: start, message: result.message ?? ""))
            }
            scenes[key] = scene
        }
        var written: [ManifestTimeline] = []
        for key in scenes.keys.sorted() {
            var scene = scenes[key]!
            scene.clips.sort { ($0.start, $0.job.index) < ($1.start, $1.job.index) }
            var files = [ExportedFile(suffix: ".xml", data: try scene.xmlData(generator: generator))]
            var message: String?
            if !scene.clips.isEmpty {
                do {
                    files += try baker.renderTimeline(scene)
                } catch {
                    message = oneLineMessage(error)
                }
            }
            var outputs: [OutputFile] = []
            for file in files {
                let path = scene.outputBase + file.suffix
                try AtomicFile.write(file.data, to: try output.file(path))
                outputs.append(OutputFile(path: path, sha256: SHA256.hex(of: file.data), bytes: file.data.count))
            }
            written.append(ManifestTimeline(scene: scene.scene, language: scene.language, outputs: outputs, message: message))
        }
        return written
    }

    // MARK: - Helpers

    static func settingsJSON(_ project: BakeProject) -> JSONValue {
        func character(_ settings: CharacterSettings) -> JSONValue {
            ["rig": .string(settings.rig), "smoothing": .string(settings.smoothing), "intensity": .decimal(settings.intensity, places: 6)]
        }
        var object = JSONObject()
        object["output"] = .string(project.outputTemplate.text)
        object["formats"] = .array(project.formats.map { .string($0.rawValue) })
        object["frameRate"] = .string(project.frameRate.description)
        object["model"] = .string(project.model)
        object["emotionHintStrength"] = .decimal(project.emotionHintStrength, places: 6)
        object["mode"] = .string(project.mode.rawValue)
        object["window"] = project.window.map { .decimal($0, places: 6) } ?? .null
        object["hop"] = project.hop.map { .decimal($0, places: 6) } ?? .null
        object["interpolation"] = .string(project.interpolation.rawValue)
        object["keyTolerance"] = .decimal(project.keyTolerance, places: 6)
        object["postProcessing"] = .object(JSONObject(project.postProcessing.summary.map { (key: $0.key, value: .string($0.value)) }))
        object["defaults"] = character(project.defaults)
        object["characters"] = project.characters.map { characters in
            .object(JSONObject(characters.keys.sorted().map { (key: $0, value: character(characters[$0]!)) }))
        } ?? .null
        return .object(object)
    }

    /// The relative path from a real folder path to a URL (`../scripts/demo`), "." when equal.
    func relativePath(from base: String, to url: URL) -> String {
        let target = OutputFolder.realPath(url.path) ?? url.standardizedFileURL.path
        let from = base.split(separator: "/")
        let to = target.split(separator: "/")
        var common = 0
        while common < from.count && common < to.count && from[common] == to[common] { common += 1 }
        let parts = Array(repeating: "..", count: from.count - common) + to[common...].map(String.init)
        return parts.isEmpty ? "." : parts.joined(separator: "/")
    }

    func joinPath(_ folder: String, _ path: String) -> String {
        folder == "." ? path : folder + "/" + path
    }
}

/// `timings.json`: the facts of one run that are not part of its results: threads, wall
/// time, and per line whether it was baked, found unchanged (cached), failed or cancelled.
struct Timings {
    struct Line {
        var id: String
        var action: String
        var seconds: Double
    }

    var jobs: Int
    var shard: Shard?
    var seconds: Double
    var lines: [Line]

    func jsonData() throws -> Data {
        func count(_ action: String) -> JSONValue { .integer(Int64(lines.filter { $0.action == action }.count)) }
        let value: JSONValue = [
            "jobs": .integer(Int64(jobs)),
            "shard": shard.map { .string($0.description) } ?? .null,
            "seconds": .decimal(seconds, places: 3),
            "baked": count("baked"), "cached": count("cached"), "failed": count("failed"), "cancelled": count("cancelled"),
            "lines": .array(
                lines.map { ["id": .string($0.id), "action": .string($0.action), "seconds": .decimal($0.seconds, places: 4)] }),
        ]
        return try JSONCodec.serializedData(value)
    }

    static func read(_ url: URL) throws -> Timings {
        let root = JSONField(try JSONCodec.parse(contentsOf: url), source: url.path)
        return Timings(
            jobs: try root.required("jobs").int(), shard: nil, seconds: try root.required("seconds").double(),
            lines: try root.required("lines").array().map {
                Line(id: try $0.required("id").string(), action: try $0.required("action").string(), seconds: try $0.required("seconds").double())
            })
    }
}
