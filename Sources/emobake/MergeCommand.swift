import ArgumentParser
import Batch
import Common
import Foundation

struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Join the shards of a batch into one manifest and report.",
        discussion: """
            After every `emobake bake --shard I/N -o DIR` has finished (all of them baking into \
            the same DIR, for example a shared volume), `emobake merge DIR` reads \
            DIR/shards/*/manifest.json and writes DIR/manifest.json, report.csv, report.html and \
            timings.json: the same bytes as one unsharded run (timings.json aside). The exit code \
            is 1 if a shard is missing or any line failed.

            Example:
              emobake merge out/fr
            """)

    @Argument(help: "The output folder the shards baked into.")
    var folder: String

    @Flag(name: .long, help: "Print the result as one JSON object on standard output.")
    var json = false

    func run() throws {
        do {
            let output = try OutputFolder(URL(fileURLWithPath: folder))
            let manifest = try BatchMerger.merge(output: output)
            let failed = manifest.failedCount
            let path = output.url.appendingPathComponent("manifest.json").path
            if json {
                print("{\"event\":\"merged\",\"lines\":\(manifest.lines.count),\"failed\":\(failed),\"manifest\":\"\(path)\"}")
            } else {
                FileHandle.standardError.write(
                    Data("merged \(manifest.lines.count) lines (\(failed) failed) into \(path)\n".utf8))
            }
            if failed > 0 { throw ExitCode(1) }
        } catch let error as any EmoBakeError {
            printError(error.message)
            throw ExitCode(1)
        }
    }
}
