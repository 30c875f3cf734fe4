import Common
import Foundation

/// A deterministic share of a script's lines, for spreading one batch over machines:
/// `--shard I/N` bakes the lines whose shard key hashes to I (0 <= I < N). The key is the
/// line's id, except for lines placed on a scene timeline, whose key is their scene, so that
/// a scene is baked (and its timeline written) by one shard. Hashing (rather than taking
/// every N-th line) keeps a line in the same shard when lines are added or removed.
public struct Shard: Sendable, Equatable, CustomStringConvertible {
    public let index: Int
    public let count: Int

    public init(index: Int, count: Int) throws {
        guard count >= 1, count <= 100_000 else { throw BatchError("shard.invalid", "shard count \(count) must be 1 to 100000") }
        guard index >= 0, index < count else {
            throw BatchError("shard.invalid", "shard index \(index) must be 0 to \(count - 1) (shards are numbered from 0)")
        }
        self.index = index
        self.count = count
    }

    /// The environment variables that give the index when `I` is `auto`, in order: a
    /// Kubernetes Indexed Job's and a Slurm job array's.
    public static let indexVariables = ["JOB_COMPLETION_INDEX", "SLURM_ARRAY_TASK_ID"]

    /// Parses `I/N`, or `auto/N` (the index from `JOB_COMPLETION_INDEX`, else `SLURM_ARRAY_TASK_ID`).
    public static func parse(_ text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Shard {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count == 2, let count = Int(parts[1]) else {
            throw BatchError("shard.syntax", "--shard \"\(text)\": use I/N (for example 0/4) or auto/N")
        }
        if parts[0] == "auto" {
            for name in indexVariables {
                if let value = environment[name], !value.isEmpty {
                    guard let index = Int(value) else {
                        throw BatchError("shard.syntax", "--shard auto: \(name)=\"\(value)\" is not a whole number")
                    }
                    return try Shard(index: index, count: count)
                }
            }
            throw BatchError("shard.syntax", "--shard auto/\(count): neither \(indexVariables.joined(separator: " nor ")) is set")
        }
        guard let index = Int(parts[0]) else {
            throw BatchError("shard.syntax", "--shard \"\(text)\": use I/N (for example 0/4) or auto/N")
        }
        return try Shard(index: index, count: count)
    }

    /// The shard (0..<count) a key belongs to: the first 8 bytes of its SHA-256, modulo count.
    public static func bucket(of key: String, count: Int) -> Int {
        let hex = SHA256.hex(of: key)
        let value = UInt64(hex.prefix(16), radix: 16)!
        return Int(value % UInt64(count))
    }

    public func owns(_ key: String) -> Bool { Self.bucket(of: key, count: count) == index }

    /// `I-of-N`, the shard's folder name under `shards/`.
    public var folderName: String { "\(index)-of-\(count)" }
    public var description: String { "\(index)/\(count)" }
}
