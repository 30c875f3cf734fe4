import Common
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The output folder of a batch, and the one way to get a folder inside it to write to.
///
/// Relative paths are checked by `OutputPath` first; this type also follows the folders that
/// already exist: a symlink inside the output folder may point elsewhere inside it, but one
/// that points out fails the line, and no folder is created outside. (Each existing component
/// is resolved with `realpath` before anything below it is created.)
public struct OutputFolder: Sendable {
    public let url: URL
    /// The real path of the output folder (symlinks resolved).
    public let realPath: String

    /// Creates the folder when needed.
    public init(_ url: URL) throws {
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            throw BatchError("output.create", "\(url.path): cannot create the output folder")
        }
        guard let real = Self.realPath(url.path) else {
            throw BatchError("output.create", "\(url.path): cannot resolve the output folder")
        }
        self.url = url
        self.realPath = real
    }

    /// The real folder for a relative folder path (`"en/alice"`, or `""` for the top),
    /// created when missing. Fails when an existing component leaves the output folder.
    public func directory(_ relative: String) throws -> URL {
        var current = realPath
        let components = relative.split(separator: "/").map(String.init)
        for (index, component) in components.enumerated() {
            let next = current + "/" + component
            var info = stat()
            if lstat(next, &info) != 0 {
                if mkdir(next, 0o755) != 0 && errno != EEXIST {
                    throw BatchError("output.create", "\(url.path)/\(relative): cannot create folder (\(String(cString: strerror(errno))))")
                }
                if lstat(next, &info) != 0 {
                    throw BatchError("output.create", "\(url.path)/\(relative): folder vanished while creating it")
                }
            }
            let shown = components[...index].joined(separator: "/")
            if (info.st_mode & S_IFMT) == S_IFLNK {
                guard let target = Self.realPath(next) else {
                    throw BatchError("path.symlink", "\(url.path)/\(shown): a symlink whose target does not exist")
                }
                guard contains(target) else {
                    throw BatchError(
                        "path.escape", "\(url.path)/\(shown): a symlink pointing out of the output folder (to \(target))")
                }
                var targetInfo = stat()
                guard stat(target, &targetInfo) == 0, (targetInfo.st_mode & S_IFMT) == S_IFDIR else {
                    throw BatchError("output.create", "\(url.path)/\(shown): exists and is not a folder")
                }
                current = target
            } else if (info.st_mode & S_IFMT) == S_IFDIR {
                current = next
            } else {
                throw BatchError("output.create", "\(url.path)/\(shown): exists and is not a folder")
            }
        }
        return URL(fileURLWithPath: current, isDirectory: true)
    }

    /// The real URL of a file at a relative path (its folder created and checked).
    public func file(_ relative: String) throws -> URL {
        let components = relative.split(separator: "/").map(String.init)
        let folder = try directory(components.dropLast().joined(separator: "/"))
        return folder.appendingPathComponent(components.last ?? "")
    }

    /// Whether a real path lies inside (or is) the output folder.
    public func contains(_ real: String) -> Bool {
        real == realPath || real.hasPrefix(realPath == "/" ? "/" : realPath + "/")
    }

    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
