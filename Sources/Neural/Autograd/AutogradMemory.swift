import Foundation

/// Allocation behaviour for training, where every step allocates and frees the same
/// tens-of-megabyte activation buffers.
public enum AutogradMemory {
    /// Asks glibc to serve blocks up to 32 MB (its maximum) from the heap and to keep freed
    /// memory instead of returning it to the system, so that each step reuses pages rather
    /// than mapping, faulting in and zeroing fresh ones. No effect where glibc's `mallopt` is
    /// missing (it is looked up at run time: Swift's Glibc module does not export it).
    public static func keepFreedBuffers() {
        #if os(Linux)
        guard let symbol = dlsym(nil, "mallopt") else { return }
        typealias MallocOption = @convention(c) (Int32, Int32) -> Int32
        let mallopt = unsafeBitCast(symbol, to: MallocOption.self)
        _ = mallopt(-3, 32 << 20)  // M_MMAP_THRESHOLD
        _ = mallopt(-1, 1 << 30)  // M_TRIM_THRESHOLD
        #endif
    }
}
