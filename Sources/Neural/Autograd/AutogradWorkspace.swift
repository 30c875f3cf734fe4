/// Scratch buffers reused across operations and steps (im2col matrices and the like), so the
/// training loop does not allocate and page in tens of megabytes per convolution. Not
/// thread-safe: one workspace per training loop or per model instance.
public final class AutogradWorkspace {
    private var buffers: [UnsafeMutablePointer<Float>?]
    private var capacities: [Int]

    public init() {
        buffers = Array(repeating: nil, count: 4)
        capacities = Array(repeating: 0, count: 4)
    }

    deinit {
        for buffer in buffers { buffer?.deallocate() }
    }

    /// A buffer of at least `count` floats for `slot` (0..<4), valid until the next call
    /// with the same slot. Contents are unspecified.
    public func buffer(_ slot: Int, count: Int) -> UnsafeMutablePointer<Float> {
        if capacities[slot] < count || buffers[slot] == nil {
            buffers[slot]?.deallocate()
            let capacity = max(count, 1)
            buffers[slot] = UnsafeMutablePointer<Float>.allocate(capacity: capacity)
            capacities[slot] = capacity
        }
        return buffers[slot]!
    }
}
