import Common
import Curves
import Foundation

/// One file an exporter produced: its name is the output base name plus `suffix`.
public struct ExportedFile: Sendable, Equatable {
    /// For example ".glb", ".gltf", ".bin", ".csv".
    public var suffix: String
    public var data: Data

    public init(suffix: String, data: Data) {
        self.suffix = suffix
        self.data = data
    }
}

/// What every format implements: turn a clip into bytes. Exporters never touch the file
/// system for output; `ExportWriter` writes their files atomically. Options are stored
/// properties set in `init`, with defaults.
public protocol Exporter: Sendable {
    /// Renders `clip`; `baseName` is the output file name without extension (formats whose
    /// files refer to each other, like .gltf + .bin, need it).
    func render(_ clip: AnimationClip, baseName: String) throws -> [ExportedFile]
}

/// Errors from exporters, naming the clip, channel or file at fault.
public struct ExportError: EmoBakeError {
    public let code: String
    public let message: String
    public init(_ code: String, _ message: String) {
        self.code = code
        self.message = message
    }
}

/// The formats EmoBake writes.
public enum ExportFormat: String, Sendable, CaseIterable, Comparable {
    case glb, gltf, fbx, csv, xml

    public static func < (lhs: ExportFormat, rhs: ExportFormat) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }

    /// Parses a comma-separated list such as "glb,fbx"; "all" means every format.
    public static func parseList(_ text: String) throws -> [ExportFormat] {
        let names = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        if names == ["all"] { return allCases }
        var formats: [ExportFormat] = []
        for name in names {
            guard let format = ExportFormat(rawValue: name) else {
                throw ExportError(
                    "format.unknown",
                    "unknown format \"\(name)\": choose from \(allCases.map(\.rawValue).joined(separator: ", ")) or all")
            }
            if !formats.contains(format) { formats.append(format) }
        }
        guard !formats.isEmpty else { throw ExportError("format.empty", "no output format given") }
        return formats.sorted()
    }
}

/// Writes exported files into a folder, each atomically (temporary file, then rename).
public enum ExportWriter {
    /// Writes every file as `directory/baseName + suffix` and returns their URLs. If one
    /// write fails, the files of this call already written are removed again.
    @discardableResult
    public static func write(_ files: [ExportedFile], baseName: String, in directory: URL) throws -> [URL] {
        var written: [URL] = []
        do {
            for file in files {
                let url = directory.appendingPathComponent(baseName + file.suffix)
                try AtomicFile.write(file.data, to: url)
                written.append(url)
            }
        } catch {
            for url in written { try? FileManager.default.removeItem(at: url) }
            throw error
        }
        return written
    }
}
