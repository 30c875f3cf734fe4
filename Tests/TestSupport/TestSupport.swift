import Common
import Foundation

/// Paths and processes shared by every test target.
public enum TestPaths {
    /// The checkout's root folder (where Package.swift is).
    public static let repositoryRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
        }
        fatalError("cannot find the repository root from \(#filePath)")
    }()

    public static var fixtures: URL { repositoryRoot.appendingPathComponent("Fixtures") }
    public static var presets: URL { repositoryRoot.appendingPathComponent("Presets") }
    /// Scripts that read our files back with third-party software (Blender, ufbx, pandas...).
    public static var readers: URL { repositoryRoot.appendingPathComponent("Tests/Readers") }
    /// `../shared/data/ravdess` beside the checkout.
    public static var ravdess: URL { repositoryRoot.appendingPathComponent("../shared/data/ravdess").standardizedFileURL }

    /// The built `emobake` binary, beside the test bundle in the build folder.
    public static var emobakeBinary: URL {
        let bundleDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        var candidate = bundleDirectory.appendingPathComponent("emobake")
        if !FileManager.default.fileExists(atPath: candidate.path) {
            // Xcode-style layouts put the bundle one level deeper.
            candidate = bundleDirectory.deletingLastPathComponent().appendingPathComponent("emobake")
        }
        return candidate
    }

    /// A fresh empty folder under the system temporary folder.
    public static func temporaryDirectory(_ label: String = "test") -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent(
            "emobake-\(label)-\(UUID().uuidString.prefix(8))")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

/// The result of running a program.
public struct ProcessResult: Sendable {
    public var status: Int32
    public var standardOutput: String
    public var standardError: String
}

public enum TestProcess {
    /// Runs `executable` with `arguments` and waits; output is collected in full.
    @discardableResult
    public static func run(
        _ executable: String, _ arguments: [String], currentDirectory: URL? = nil,
        environment: [String: String]? = nil, input: Data? = nil
    ) throws -> ProcessResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable.hasPrefix("/") ? executable : "/usr/bin/env")
        process.arguments = executable.hasPrefix("/") ? arguments : [executable] + arguments
        if let currentDirectory { process.currentDirectoryURL = currentDirectory }
        if let environment {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        // Output goes to files, not pipes, so a chatty child can never block on a full pipe.
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("emobake-proc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let outputURL = scratch.appendingPathComponent("out")
        let errorURL = scratch.appendingPathComponent("err")
        FileManager.default.createFile(atPath: outputURL.path, contents: nil)
        FileManager.default.createFile(atPath: errorURL.path, contents: nil)
        let outputHandle = try FileHandle(forWritingTo: outputURL)
        let errorHandle = try FileHandle(forWritingTo: errorURL)
        process.standardOutput = outputHandle
        process.standardError = errorHandle
        let inputPipe = Pipe()
        process.standardInput = inputPipe
        try process.run()
        if let input { inputPipe.fileHandleForWriting.write(input) }
        try? inputPipe.fileHandleForWriting.close()
        process.waitUntilExit()
        try? outputHandle.close()
        try? errorHandle.close()
        let outputData = (try? Data(contentsOf: outputURL)) ?? Data()
        let errorData = (try? Data(contentsOf: errorURL)) ?? Data()
        return ProcessResult(
            status: process.terminationStatus, standardOutput: String(decoding: outputData, as: UTF8.self),
            standardError: String(decoding: errorData, as: UTF8.self))
    }

    /// Runs the built `emobake` binary.
    @discardableResult
    public static func emobake(_ arguments: [String], currentDirectory: URL? = nil, environment: [String: String]? = nil)
        throws -> ProcessResult
    {
        try run(TestPaths.emobakeBinary.path, arguments, currentDirectory: currentDirectory, environment: environment)
    }

    /// Runs a reader script from Tests/Readers with python3 (or another interpreter).
    public static func reader(_ script: String, _ arguments: [String], interpreter: String = "python3") throws
        -> ProcessResult
    {
        try run(interpreter, [TestPaths.readers.appendingPathComponent(script).path] + arguments)
    }
}
