import ArgumentParser
import Common
import Foundation
import Neural

@main
struct EmoBake: ParsableCommand {
    static let version = "0.1.0"
    static let configuration = CommandConfiguration(
        commandName: "emobake",
        abstract: "Turn dialogue audio into facial animation: emotion over time -> blendshape curves.",
        discussion: """
            Exit codes: 0 success, 1 failed work (bad input file, failed line), 2 bad usage.
            Presets (rigs, smoothing, the default model) are found with --presets DIR,
            $EMOBAKE_PRESETS, or the Presets folder beside the executable or the checkout.
            """,
        version: version,
        subcommands: [ConvertCommand.self, PresetsCommand.self, BakeCommand.self, MergeCommand.self, PredictCommand.self, BenchRuntimeCommand.self, ReviewCommand.self, TrainCommand.self, EvalCommand.self, SequenceDialoguesCommand.self])

    /// Bad usage exits 2 (argument-parser's default would be 64); failed work exits 1.
    /// Before anything else, makes sure OpenBLAS runs kernels that fit the CPU (see `BLASCore`).
    static func main() {
        requireVectorExtensions()
        BLASCore.reexecuteWithBetterKernelsIfNeeded()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure {
                // One line naming the problem, then where to read more.
                let text = message(for: error).split(whereSeparator: \.isNewline).joined(separator: " ")
                FileHandle.standardError.write(Data("emobake: \(text)\n(run 'emobake help' or add --help for usage)\n".utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }

    /// On x86-64 the Neural kernels are compiled for AVX2 and FMA (Package.swift): on an older
    /// CPU, stop with one line instead of an illegal-instruction crash. This file is compiled
    /// without those extensions, so the check itself runs anywhere.
    static func requireVectorExtensions() {
        #if arch(x86_64) && os(Linux)
        guard let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
            let line = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
        else { return }
        let flags = Set(line.split(separator: " ").map(String.init))
        let missing = ["avx2", "fma"].filter { !flags.contains($0) }
        guard !missing.isEmpty else { return }
        FileHandle.standardError.write(Data(
            "emobake: this build needs an x86-64 CPU with AVX2 and FMA (x86-64-v3); this CPU lacks \(missing.joined(separator: ", "))\n".utf8))
        Foundation.exit(1)
        #endif
    }
}

/// The failures of one command are already printed; this ends it with exit code 1.
struct FailedWork: Error {}

extension FailedWork: CustomStringConvertible {
    var description: String { "" }
}

/// Prints to standard error, one line.
func printError(_ text: String) {
    FileHandle.standardError.write(Data(("emobake: " + text + "\n").utf8))
}

/// Options every command that reads presets shares.
struct PresetOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Folder with rigs/, smoothing/ and models/ (default: found automatically).", valueName: "DIR"))
    var presets: String?

    func directory() throws -> URL {
        do {
            return try ResourceLocator.presetsDirectory(explicit: presets)
        } catch {
            throw ValidationError(oneLineMessage(error))
        }
    }
}
