import Common
import Foundation

/// Joins the shards of a batch baked into one output folder (`bake --shard I/N` writes its
/// manifest, report and timings under `shards/I-of-N/`) into the files one unsharded run
/// writes: `manifest.json`, `report.csv`, `report.html` and `timings.json`, byte-identical to
/// them apart from `timings.json`. Scene timelines were written by the shard owning the scene.
public enum BatchMerger {
    public static func merge(output: OutputFolder) throws -> Manifest {
        let shardsURL = output.url.appendingPathComponent("shards")
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: shardsURL.path)) ?? []).sorted()
        var manifests: [(Manifest, Timings?)] = []
        for name in names {
            let url = shardsURL.appendingPathComponent(name).appendingPathComponent("manifest.json")
            guard FileManager.default.fileExists(atPath: url.path) else { continue }
            let manifest = try Manifest.read(url)
            let timingsURL = shardsURL.appendingPathComponent(name).appendingPathComponent(Manifest.timingsFile)
            manifests.append((manifest, try? Timings.read(timingsURL)))
        }
        guard let first = manifests.first?.0 else {
            throw BatchError("merge.noShards", "\(shardsURL.path): no shard manifests (run `emobake bake --shard I/N -o \(output.url.path)` first)")
        }
        let counts = Set(manifests.compactMap { $0.0.shard?.count })
        guard counts.count == 1, let count = counts.first, manifests.allSatisfy({ $0.0.shard != nil }) else {
            throw BatchError(
                "merge.mixed", "\(shardsURL.path): holds shards of different counts (\(counts.sorted().map(String.init).joined(separator: ", "))): remove the old ones")
        }
        let present = Set(manifests.map { $0.0.shard!.index })
        let missing = (0..<count).filter { !present.contains($0) }
        guard missing.isEmpty else {
            throw BatchError(
                "merge.missing", "\(shardsURL.path): shard\(missing.count > 1 ? "s" : "") \(missing.map { "\($0)/\(count)" }.joined(separator: ", ")) not baked yet")
        }
        for (manifest, _) in manifests {
            let shard = manifest.shard!
            guard manifest.scriptSHA256 == first.scriptSHA256, manifest.projectSHA256 == first.projectSHA256,
                manifest.settings == first.settings, manifest.generator == first.generator
            else {
                throw BatchError(
                    "merge.mismatch", "shards/\(shard.folderName): baked from a different script, project or EmoBake version than shard \(first.shard!)")
            }
        }
        let models = manifests.compactMap { $0.0.model }
        guard Set(models.map(\.sha256)).count <= 1 else {
            throw BatchError("merge.mismatch", "\(shardsURL.path): the shards used different models")
        }
        var lines: [ManifestLine] = []
        var timingLines: [(Int, Timings.Line)] = []
        for (manifest, timings) in manifests {
            lines += manifest.lines
            if let timings, timings.lines.count == manifest.lines.count {
                timingLines += zip(manifest.lines.map(\.index), timings.lines).map { ($0, $1) }
            }
        }
        lines.sort { $0.index < $1.index }
        guard Set(lines.map(\.index)).count == lines.count else {
            throw BatchError("merge.duplicate", "\(shardsURL.path): a line appears in two shards")
        }
        guard lines.count == first.scriptLineCount else {
            throw BatchError(
                "merge.count", "\(shardsURL.path): the shards hold \(lines.count) lines but the script has \(first.scriptLineCount)")
        }
        var records: [Int: LineRecord] = [:]
        let cache = BakeCache(output: output)
        for line in lines where line.status == .ok {
            guard let base = line.outputBase, let record = cache.record(forOutputBase: base), record.key == line.key else {
                throw BatchError(
                    "merge.record", "\(output.url.path): line \"\(line.id)\" has no cache record here: shards must bake into the same output folder")
            }
            records[line.index] = record
        }
        let timelines = manifests.flatMap { $0.0.timelines }.sorted {
            SceneTimeline.groupKey(language: $0.language, scene: $0.scene) < SceneTimeline.groupKey(language: $1.language, scene: $1.scene)
        }
        let merged = Manifest(
            generator: first.generator, scriptName: first.scriptName, scriptSHA256: first.scriptSHA256,
            scriptLineCount: first.scriptLineCount, scriptFolder: first.scriptFolder, projectName: first.projectName,
            projectSHA256: first.projectSHA256, model: models.first, settings: first.settings, shard: nil, lines: lines,
            timelines: timelines)
        let timings = Timings(
            jobs: manifests.compactMap { $0.1?.jobs }.max() ?? 1, shard: nil,
            seconds: manifests.compactMap { $0.1?.seconds }.reduce(0, +),
            lines: timingLines.sorted { $0.0 < $1.0 }.map(\.1))
        // A merge killed while writing left temporary files of these names.
        BatchOutputWriter.removeTemporaryFiles(["": BatchOutputWriter.reportNames], in: output)
        try BatchOutputWriter(output: output, generator: first.generator).write(manifest: merged, records: records, timings: timings)
        return merged
    }
}
