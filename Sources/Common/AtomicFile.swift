import Foundation

/// Writing files so that no reader (and no later run) ever sees a half-written one.
///
/// Bytes go to a temporary file beside the destination (same directory, so the same file
/// system), are flushed, and the temporary file is renamed over the destination: rename is
/// atomic on POSIX file systems. If anything fails, the temporary file is removed and the
/// destination is left as it was.
public enum AtomicFile {
    /// The prefix of temporary files; a batch run removes leftovers with this prefix.
    public static let temporaryPrefix = ".emobake-tmp-"

    public static func write(_ data: Data, to url: URL, createDirectories: Bool = true) throws {
        let directory = url.deletingLastPathComponent()
        let manager = FileManager.default
        if createDirectories {
            do {
                try manager.createDirectory(at: directory, withIntermediateDirectories: true)
            } catch {
                throw CommonError("file.createDirectory", "\(directory.path): cannot create directory (\(error.localizedDescription))")
            }
        }
        let temporary = directory.appendingPathComponent(
            "\(temporaryPrefix)\(ProcessInfo.processInfo.processIdentifier)-\(UInt64.random(in: 0 ... .max))-\(url.lastPathComponent)")
        guard manager.createFile(atPath: temporary.path, contents: nil) else {
            throw CommonError("file.write", "\(url.path): cannot create a file in \(directory.path)")
        }
        do {
            let handle = try FileHandle(forWritingTo: temporary)
            defer { try? handle.close() }
            try handle.write(contentsOf: data)
            try handle.synchronize()
        } catch {
            try? manager.removeItem(at: temporary)
            throw CommonError("file.write", "\(url.path): write failed (\(error.localizedDescription))")
        }
        if rename(temporary.path, url.path) != 0 {
            let reason = String(cString: strerror(errno))
            try? manager.removeItem(at: temporary)
            throw CommonError("file.rename", "\(url.path): cannot move the finished file into place (\(reason))")
        }
    }

    public static func write(_ text: String, to url: URL, createDirectories: Bool = true) throws {
        try write(Data(text.utf8), to: url, createDirectories: createDirectories)
    }
}
