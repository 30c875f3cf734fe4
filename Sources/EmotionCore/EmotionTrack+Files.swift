import Common
import Foundation

extension EmotionTrack {
    /// Track files are refused above this size: a track of a full day at 120 fps with 16
    /// emotions is well under it, so anything larger is a mistake, not a track.
    public static let maximumFileBytes = 2_000_000_000

    /// Reads a track file; the format follows the extension (.json, .csv; Audio2Face CSV is
    /// recognised by its header).
    public static func read(from url: URL) throws -> EmotionTrack {
        let path = url.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw EmotionCoreError("track.missing", "\(path): no such file")
        }
        guard !isDirectory.boolValue else { throw EmotionCoreError("track.isDirectory", "\(path): is a folder, expected a track file") }
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        guard size <= maximumFileBytes else {
            throw EmotionCoreError("track.tooLarge", "\(path): \(size) bytes is too large for an emotion track")
        }
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw EmotionCoreError("track.unreadable", "\(path): cannot read file")
        }
        switch url.pathExtension.lowercased() {
        case "json": return try parseJSON(data, source: path)
        case "csv", "txt": return try parseCSV(data, source: path)
        default:
            throw EmotionCoreError(
                "track.extension", "\(path): unknown track format \".\(url.pathExtension)\" (use .json or .csv)")
        }
    }

    /// Writes the track atomically; the format follows the extension (.json or .csv).
    public func write(to url: URL) throws {
        switch url.pathExtension.lowercased() {
        case "json": try AtomicFile.write(try jsonData(), to: url)
        case "csv": try AtomicFile.write(csvData(), to: url)
        default:
            throw EmotionCoreError("track.extension", "\(url.path): unknown track format (use .json or .csv)")
        }
    }
}
