import Foundation

/// A small, seedable, platform-independent random generator (xoshiro256**, seeded through
/// SplitMix64), so that training runs are reproducible bit for bit: same seed, same data
/// order, same augmentation, same dropout masks, same initial weights. Its state can be saved
/// in a checkpoint and restored.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    public private(set) var state: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        var mixer = seed
        func splitMix() -> UInt64 {
            mixer &+= 0x9E37_79B9_7F4A_7C15
            var z = mixer
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = (splitMix(), splitMix(), splitMix(), splitMix())
    }

    /// Restores a saved state (four words, as `words` gives them).
    public init(words: [UInt64]) {
        precondition(words.count == 4, "SeededRandom: a state has four words")
        state = (words[0], words[1], words[2], words[3])
    }

    public var words: [UInt64] { [state.0, state.1, state.2, state.3] }

    public mutating func next() -> UInt64 {
        let result = rotate(state.1 &* 5, 7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = rotate(state.3, 45)
        return result
    }

    private func rotate(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// Uniform in [0, 1) with 24 random bits (exactly representable in Float).
    public mutating func uniformFloat() -> Float { Float(next() >> 40) * (1.0 / 16_777_216.0) }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func uniform() -> Double { Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0) }

    /// Uniform in [low, high).
    public mutating func uniform(_ low: Double, _ high: Double) -> Double { low + (high - low) * uniform() }

    /// An integer in 0..<bound (bound > 0), without modulo bias.
    public mutating func below(_ bound: Int) -> Int {
        precondition(bound > 0, "SeededRandom.below: bound must be positive")
        return Int(truncatingIfNeeded: next(upperBound: UInt64(bound)))
    }

    /// Standard normal by Box-Muller (one value per call; the pair's second half is dropped
    /// so that the state advances the same way whatever the caller does).
    public mutating func normal() -> Double {
        let u1 = max(uniform(), 1e-300)
        let u2 = uniform()
        return (-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2)
    }

    /// Exponential with mean 1.
    public mutating func exponential() -> Double { -Foundation.log(max(1 - uniform(), 1e-300)) }

    /// Fisher-Yates shuffle, driven by this generator only.
    public mutating func shuffle<T>(_ items: inout [T]) {
        guard items.count > 1 else { return }
        for index in stride(from: items.count - 1, to: 0, by: -1) {
            let other = below(index + 1)
            if other != index { items.swapAt(index, other) }
        }
    }
}

