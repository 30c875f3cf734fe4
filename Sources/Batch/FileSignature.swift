import Common
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What `stat` says about a file: size, modification and change times (nanoseconds), inode
/// and device. Like git's index and make, the batch trusts a file whose signature is the
/// one it recorded to still hold the recorded bytes, and hashes it again when anything
/// differs (an edit always moves the change time, which no user command can set back).
struct FileSignature: Equatable {
    let text: String

    init?(_ url: URL) {
        var info = stat()
        guard stat(url.path, &info) == 0 else { return nil }
        #if canImport(Darwin)
        let modified = Int64(info.st_mtimespec.tv_sec) * 1_000_000_000 + Int64(info.st_mtimespec.tv_nsec)
        let changed = Int64(info.st_ctimespec.tv_sec) * 1_000_000_000 + Int64(info.st_ctimespec.tv_nsec)
        #else
        let modified = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
        let changed = Int64(info.st_ctim.tv_sec) * 1_000_000_000 + Int64(info.st_ctim.tv_nsec)
        #endif
        text = "\(info.st_size):\(modified):\(changed):\(info.st_ino):\(info.st_dev)"
    }

    init(text: String) { self.text = text }
}
