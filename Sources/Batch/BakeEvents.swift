import Common
import Foundation
import JSONIO

/// What happens during a batch, in the order it happens (which varies with `-j`).
public enum BakeEvent: Sendable {
    /// The batch begins: `total` lines to go through on `jobs` threads.
    case started(total: Int, jobs: Int, shard: Shard?)
    /// A line is finished; `cached` when its outputs were up to date and it was skipped.
    case done(id: String, location: String, cached: Bool, outputs: [String], seconds: Double)
    case failed(id: String, location: String, code: String, message: String)
    /// After every line: how many are finished (of `total`), and how they went.
    case progress(completed: Int, total: Int, baked: Int, cached: Int, failed: Int)
    /// Everything is written; `manifest` is the manifest's path.
    case finished(baked: Int, cached: Int, failed: Int, seconds: Double, manifest: String)
}

/// Receives events one at a time (the runner serialises calls).
public protocol BakeEventSink: AnyObject {
    func handle(_ event: BakeEvent)
}

/// `--json`: one JSON object per line on standard output, for build systems.
public final class JSONEventPrinter: BakeEventSink {
    public init() {}

    public func handle(_ event: BakeEvent) {
        let value: JSONValue
        switch event {
        case .started(let total, let jobs, let shard):
            value = [
                "event": "started", "lines": .integer(Int64(total)), "jobs": .integer(Int64(jobs)),
                "shard": shard.map { .string($0.description) } ?? .null,
            ]
        case .done(let id, _, let cached, let outputs, let seconds):
            value = [
                "event": "done", "id": .string(id), "status": .string(cached ? "cached" : "baked"),
                "outputs": .array(outputs.map { .string($0) }), "seconds": .decimal(seconds, places: 3),
            ]
        case .failed(let id, let location, let code, let message):
            value = ["event": "failed", "id": .string(id), "location": .string(location), "code": .string(code), "message": .string(message)]
        case .progress(let completed, let total, let baked, let cached, let failed):
            value = [
                "event": "progress", "completed": .integer(Int64(completed)), "total": .integer(Int64(total)),
                "baked": .integer(Int64(baked)), "cached": .integer(Int64(cached)), "failed": .integer(Int64(failed)),
            ]
        case .finished(let baked, let cached, let failed, let seconds, let manifest):
            value = [
                "event": "finished", "baked": .integer(Int64(baked)), "cached": .integer(Int64(cached)),
                "failed": .integer(Int64(failed)), "seconds": .decimal(seconds, places: 3), "manifest": .string(manifest),
            ]
        }
        if let text = try? JSONCodec.serialize(value, style: .compact) {
            FileHandle.standardOutput.write(Data(text.utf8))
        }
    }
}

/// Human output on standard error: a progress bar redrawn in place on a terminal, or plain
/// lines otherwise; failures are always printed, one line each.
public final class ConsoleEventPrinter: BakeEventSink {
    private let isTerminal: Bool
    private let quiet: Bool
    private var barShown = false
    private var lastDraw = Date.distantPast

    public init(isTerminal: Bool = isatty(STDERR_FILENO) != 0, quiet: Bool = false) {
        self.isTerminal = isTerminal
        self.quiet = quiet
    }

    private func write(_ text: String) { FileHandle.standardError.write(Data(text.utf8)) }

    private func clearBar() {
        if barShown {
            write("\r\u{1B}[2K")
            barShown = false
        }
    }

    public func handle(_ event: BakeEvent) {
        switch event {
        case .started(let total, let jobs, let shard):
            if !quiet {
                write("baking \(total) line\(total == 1 ? "" : "s") with \(jobs) job\(jobs == 1 ? "" : "s")\(shard.map { " (shard \($0))" } ?? "")\n")
            }
        case .done(let id, _, let cached, _, _):
            if !quiet && !isTerminal { write("\(cached ? "unchanged" : "baked") \(id)\n") }
        case .failed(let id, let location, _, let message):
            clearBar()
            write("emobake: \(location): \(id.isEmpty ? "" : "\(id): ")\(message)\n")
        case .progress(let completed, let total, let baked, let cached, let failed):
            guard isTerminal && !quiet else { return }
            // Redraw at most 20 times a second, and always for the last line.
            let now = Date()
            guard completed == total || now.timeIntervalSince(lastDraw) > 0.05 else { return }
            lastDraw = now
            let width = 30
            let filled = total == 0 ? width : completed * width / total
            let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
            write("\r\u{1B}[2K[\(bar)] \(completed)/\(total)  baked \(baked)  unchanged \(cached)  failed \(failed)")
            barShown = true
        case .finished(let baked, let cached, let failed, let seconds, let manifest):
            clearBar()
            if !quiet || failed > 0 {
                write(
                    "\(baked) baked, \(cached) unchanged, \(failed) failed in \(DecimalFormat.fixed(seconds, 1)) s; manifest: \(manifest)\n"
                )
            }
        }
    }
}

/// Collects events (tests).
public final class RecordingEventSink: BakeEventSink {
    public private(set) var events: [BakeEvent] = []
    public init() {}
    public func handle(_ event: BakeEvent) { events.append(event) }
}
