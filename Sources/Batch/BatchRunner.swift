import Common
import EmotionCore
import ExportKit
import Foundation

/// How a batch runs.
public struct BakeOptions: Sendable {
    /// Lines baked at the same time (threads).
    public var jobs: Int
    /// Rebake every line even when its outputs are up to date.
    public var force: Bool
    /// Stop starting new lines after the first failure.
    public var failFast: Bool
    /// Bake only this share of the lines.
    public var shard: Shard?
    /// The tool's version, part of every cache key ("0.1.0").
    public var toolVersion: String

    public init(jobs: Int = 1, force: Bool = false, failFast: Bool = false, shard: Shard? = nil, toolVersion: String) {
        self.jobs = max(1, jobs)
        self.force = force
        self.failFast = failFast
        self.shard = shard
        self.toolVersion = toolVersion
    }

    public var generator: String { "EmoBake \(toolVersion)" }
}

/// What a run did.
public struct BatchSummary: Sendable {
    /// In script order.
    public var results: [LineResult]
    public var manifest: Manifest
    public var manifestURL: URL
    public var seconds: Double

    public var failedCount: Int { results.filter { !$0.isOK }.count }
    public func count(_ action: LineResult.Action) -> Int { results.filter { $0.action == action }.count }
}

/// Bakes a dialogue script: plans the lines, bakes them on `jobs` threads (skipping
/// unchanged ones), then writes the manifest, reports and scene timelines. Results are
/// collected by script position, so every file written is the same whatever `jobs` is.
public final class BatchRunner {
    public let script: DialogueScript
    public let project: BakeProject
    public let output: OutputFolder
    public let baker: any LineBaker
    public let options: BakeOptions
    let cache: BakeCache

    public init(script: DialogueScript, project: BakeProject, output: OutputFolder, baker: any LineBaker, options: BakeOptions) {
        self.script = script
        self.project = project
        self.output = output
        self.baker = baker
        self.options = options
        self.cache = BakeCache(output: output)
    }

    public func run(events: any BakeEventSink) throws -> BatchSummary {
        let clock = Date()
        var planned = BatchPlanner.plan(script: script, project: project)
        if let shard = options.shard { planned = planned.filter { shard.owns($0.shardKey) } }
        removeLeftovers(planned)
        let state = RunState(planned: planned, events: events)
        let workerCount = min(options.jobs, max(1, planned.count))
        state.emit(.started(total: planned.count, jobs: workerCount, shard: options.shard))

        let group = DispatchGroup()
        for _ in 0..<workerCount {
            group.enter()
            let thread = Thread { [self] in
                self.work(state)
                group.leave()
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
        group.wait()

        let results = state.results.map { $0! }
        let writer = BatchOutputWriter(output: output, generator: options.generator)
        let manifest = try writer.finish(
            results: results, script: script, project: project, model: baker.modelDescription(), shard: options.shard,
            baker: baker, jobs: workerCount, seconds: Date().timeIntervalSince(clock))
        let manifestURL = output.url.appendingPathComponent(writer.manifestPath(shard: options.shard))
        let seconds = Date().timeIntervalSince(clock)
        let summary = BatchSummary(results: results, manifest: manifest, manifestURL: manifestURL, seconds: seconds)
        state.emit(
            .finished(
                baked: summary.count(.baked), cached: summary.count(.cached), failed: summary.failedCount, seconds: seconds,
                manifest: manifestURL.path))
        return summary
    }

    // MARK: - One thread

    private func work(_ state: RunState) {
        var worker: (any LineWorker)?
        var workerError: (any Error)?
        while let (slot, entry, stopped) = state.next() {
            let started = Date()
            var result = LineResult(
                index: entry.index, line: entry.line, job: entry.job, audioSHA256: nil, trackSHA256: nil, record: nil,
                errorCode: nil, message: nil, action: .failed, seconds: 0)
            if let stopped {
                result.action = .cancelled
                result.errorCode = "batch.cancelled"
                result.message = "not baked: --fail-fast stopped the batch after line \"\(stopped)\" failed"
            } else if let failure = entry.failure {
                result.errorCode = failure.code
                result.message = failure.message
            } else if let job = entry.job {
                do {
                    try bake(job, into: &result) {
                        if let worker { return worker }
                        if let workerError { throw workerError }
                        do {
                            worker = try baker.makeWorker()
                            return worker!
                        } catch {
                            workerError = error
                            throw error
                        }
                    }
                } catch {
                    result.record = nil
                    result.action = .failed
                    result.errorCode = (error as? any EmoBakeError)?.code ?? "line.error"
                    result.message = oneLineMessage(error)
                }
            }
            result.seconds = Date().timeIntervalSince(started)
            state.finish(slot, result, failFast: options.failFast)
        }
    }

    /// Bakes one line, or finds it unchanged. Outputs are written before the record, each
    /// atomically, so a run killed at any point leaves either the old complete files or the
    /// new complete files, and a line without a matching record is baked again.
    private func bake(_ job: BakeJob, into result: inout LineResult, worker: () throws -> any LineWorker) throws {
        let previous = cache.record(forOutputBase: job.outputBase)
        var inputs: [String: (sha256: String, signature: String)] = [:]
        /// The file's SHA-256, taken from the previous record when its `stat` is unchanged.
        func hash(_ url: URL) throws -> String {
            guard let signature = FileSignature(url) else { throw CommonError("file.missing", "\(url.path): no such file") }
            if let known = previous?.inputs[url.path], known.signature == signature.text {
                inputs[url.path] = known
                return known.sha256
            }
            let digest = try SHA256.hex(ofFileAt: url)
            inputs[url.path] = (digest, signature.text)
            return digest
        }
        if let audioURL = job.audioURL {
            do {
                result.audioSHA256 = try hash(audioURL)
            } catch {
                // A track line may name audio only for the report's player; it need not exist.
                if job.trackURL == nil {
                    throw BatchError("audio.missing", "audio \"\(job.line.audio!)\": no such file or not readable (\(audioURL.path))")
                }
            }
        }
        if let trackURL = job.trackURL {
            do {
                result.trackSHA256 = try hash(trackURL)
            } catch {
                throw BatchError("track.missing", "track \"\(job.line.track!)\": no such file or not readable (\(trackURL.path))")
            }
        }
        let fingerprint = try baker.fingerprint(for: job)
        let key = BakeCache.key(
            toolVersion: options.toolVersion, inputKind: job.trackURL != nil ? "track" : "audio",
            inputSHA256: (job.trackURL != nil ? result.trackSHA256 : result.audioSHA256)!, outputBase: job.outputBase,
            hint: job.line.emotion, hintStrength: project.emotionHintStrength, fingerprint: fingerprint)
        let folder = try output.directory(job.outputFolder)
        if !options.force, let previous, previous.key == key, previous.id == job.line.id, cache.outputsIntact(previous) {
            result.record = previous
            result.action = .cached
            // Keep the record's input signatures current (a touched but unchanged file is
            // then not read again next time).
            if previous.inputs.keys.sorted() != inputs.keys.sorted() || !previous.inputs.allSatisfy({ inputs[$0.key]?.signature == $0.value.signature }) {
                var refreshed = previous
                refreshed.inputs = inputs
                try? cache.write(refreshed, forOutputBase: job.outputBase)
            }
            return
        }
        let worker = try worker()
        let emotion = try worker.emotion(for: job)
        var track = emotion.track
        guard track.frameCount > 0 else { throw BatchError("line.empty", "the emotion track has no frames") }
        if let hint = job.line.emotion {
            track = try EmotionHint.apply(hint, strength: project.emotionHintStrength, to: track)
        }
        let files = try worker.render(track, for: job)
        guard !files.isEmpty else { throw BatchError("line.noOutput", "no output format produced a file") }
        try ExportWriter.write(files, baseName: job.baseName, in: folder)
        let prefix = job.outputFolder.isEmpty ? "" : job.outputFolder + "/"
        let outputs = files.map {
            OutputFile(path: prefix + job.baseName + $0.suffix, sha256: SHA256.hex(of: $0.data), bytes: $0.data.count)
        }
        // Files of an earlier bake that this one no longer writes (a format was dropped).
        for stale in previous?.outputs ?? [] where !outputs.contains(where: { $0.path == stale.path }) {
            if (try? OutputPath.check(stale.path, what: "stale output")) != nil, let url = try? output.file(stale.path) {
                try? FileManager.default.removeItem(at: url)
            }
        }
        var record = LineRecord(
            key: key, id: job.line.id, outputs: outputs, duration: emotion.duration,
            dominantEmotion: track.dominantEmotion ?? "", track: track)
        record.inputs = inputs
        for file in outputs {
            record.outputSignatures[file.path] = FileSignature(output.url.appendingPathComponent(file.path))?.text
        }
        try cache.write(record, forOutputBase: job.outputBase)
        result.record = record
        result.action = .baked
    }

    /// Removes temporary files that a killed run left beside this run's outputs and records:
    /// its lines' files, its scenes' timelines, its reports and manifest. Only names this run
    /// writes itself are touched, so shards baking into the same folder at the same time never
    /// remove each other's files in flight (a shard owns its scenes and its report folder).
    private func removeLeftovers(_ planned: [PlannedLine]) {
        var namesByFolder: [String: Set<String>] = [:]
        for entry in planned {
            guard let job = entry.job else { continue }
            namesByFolder[job.outputFolder, default: []].insert(job.baseName)
            let record = cache.recordPath(forOutputBase: job.outputBase)
            namesByFolder[BakeCache.folderName + "/lines", default: []].insert(String(record.split(separator: "/").last!))
            if let timeline = BatchOutputWriter.timelineBase(of: entry.line, scriptName: script.name) {
                let slash = timeline.lastIndex(of: "/")!
                namesByFolder[String(timeline[..<slash]), default: []].insert(String(timeline[timeline.index(after: slash)...]))
            }
        }
        let reports = BatchOutputWriter(output: output, generator: options.generator).folder(shard: options.shard)
        namesByFolder[reports, default: []].formUnion(BatchOutputWriter.reportNames)
        BatchOutputWriter.removeTemporaryFiles(namesByFolder, in: output)
    }
}

/// The queue and results shared by the worker threads.
final class RunState: @unchecked Sendable {
    private let lock = NSLock()
    private let planned: [PlannedLine]
    private let events: any BakeEventSink
    private var nextSlot = 0
    private var completed = 0
    private var baked = 0
    private var cached = 0
    private var failed = 0
    /// The id of the line that stopped a `--fail-fast` batch.
    private var stoppedBy: String?
    private(set) var results: [LineResult?]

    init(planned: [PlannedLine], events: any BakeEventSink) {
        self.planned = planned
        self.events = events
        self.results = Array(repeating: nil, count: planned.count)
    }

    func emit(_ event: BakeEvent) {
        lock.lock()
        defer { lock.unlock() }
        events.handle(event)
    }

    /// The next line to work on, with the id of the failed line if the batch was stopped.
    func next() -> (Int, PlannedLine, String?)? {
        lock.lock()
        defer { lock.unlock() }
        guard nextSlot < planned.count else { return nil }
        let slot = nextSlot
        nextSlot += 1
        return (slot, planned[slot], stoppedBy)
    }

    func finish(_ slot: Int, _ result: LineResult, failFast: Bool) {
        lock.lock()
        defer { lock.unlock() }
        results[slot] = result
        completed += 1
        let location = result.line.location
        switch result.action {
        case .baked, .cached:
            if result.action == .baked { baked += 1 } else { cached += 1 }
            events.handle(
                .done(
                    id: result.line.id, location: location, cached: result.action == .cached,
                    outputs: result.record?.outputs.map(\.path) ?? [], seconds: result.seconds))
        case .failed, .cancelled:
            failed += 1
            if failFast && stoppedBy == nil && result.action == .failed {
                stoppedBy = result.line.id.isEmpty ? location : result.line.id
            }
            events.handle(.failed(id: result.line.id, location: location, code: result.errorCode ?? "line.error", message: result.message ?? ""))
        }
        events.handle(.progress(completed: completed, total: planned.count, baked: baked, cached: cached, failed: failed))
    }
}
