/// Vectorised exp and erf for the activation and softmax kernels. Both run on eight lanes at
/// once; accuracy is stated per function and checked against libm in the tests.
public enum FastMath {
    public typealias Lanes = SIMD8<Float>

    /// e^x, relative error below 3e-7 for x in [-87, 88]; x below -87 gives about 1e-38
    /// (not 0), x above 88 is clamped to e^88.
    ///
    /// x = n ln 2 + r with |r| <= ln 2 / 2 (Cody-Waite split of ln 2), e^r by its Taylor series
    /// to degree 7 (remainder < r^8/8! < 6e-9), and 2^n built in the exponent bits.
    @inline(__always)
    public static func exp(_ x: Lanes) -> Lanes {
        let clamped = x.clamped(lowerBound: Lanes(repeating: -87), upperBound: Lanes(repeating: 88))
        // Round to nearest with the 1.5 * 2^23 trick (Float addition rounds for us; exact for
        // |n| < 2^22), which keeps everything in vector registers.
        let magic = Lanes(repeating: 12_582_912)
        let shifted = clamped * 1.442_695_04 + magic
        let n = shifted - magic
        var r = clamped - n * 0.693_359_375
        r = r + n * 2.121_944_4e-4
        var p = Lanes(repeating: 1.0 / 5040)
        p = p * r + 1.0 / 720
        p = p * r + 1.0 / 120
        p = p * r + 1.0 / 24
        p = p * r + 1.0 / 6
        p = p * r + 0.5
        p = p * r + 1
        p = p * r + 1
        // The low bits of `shifted` hold n (+ 0x400000); 2^n is (n + 127) in the exponent field.
        let integer = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- 0x4B40_0000
        let exponent = (integer &+ 127) &<< 23
        return p * unsafeBitCast(exponent, to: Lanes.self)
    }

    /// erf(x), absolute error below 5e-7 in Float arithmetic (the formula itself: 1.5e-7;
    /// Abramowitz & Stegun 7.1.26:
    /// erf(x) = 1 - (a1 t + ... + a5 t^5) e^(-x^2), t = 1 / (1 + p x) for x >= 0, odd symmetry).
    @inline(__always)
    public static func erf(_ x: Lanes) -> Lanes {
        let magnitude = x.replacing(with: -x, where: x .< 0)
        let t = 1 / (1 + 0.327_591_1 * magnitude)
        var poly = Lanes(repeating: 1.061_405_429)
        poly = poly * t - 1.453_152_027
        poly = poly * t + 1.421_413_741
        poly = poly * t - 0.284_496_736
        poly = poly * t + 0.254_829_592
        poly = poly * t
        let value = 1 - poly * exp(-magnitude * magnitude)
        return value.replacing(with: Lanes(repeating: 0) - value, where: x .< 0)
    }

    /// GELU as PyTorch's default ("gelu", not the tanh form): x * (1 + erf(x / sqrt 2)) / 2.
    @inline(__always)
    public static func gelu(_ x: Lanes) -> Lanes {
        0.5 * x * (1 + erf(x * 0.707_106_781_186_547_6))
    }
}

extension FastMath {
    /// Scalar e^x with the same method and accuracy as the lane version. Loops over these are
    /// vectorised by the compiler, and plain `max` becomes one instruction, where SIMD
    /// `clamped` goes through a generic per-lane path.
    @inline(__always)
    public static func exp(_ x: Float) -> Float {
        let clamped = Swift.min(Swift.max(x, -87), 88)
        let shifted = clamped * 1.442_695_04 + 12_582_912
        let n = shifted - 12_582_912
        var r = clamped - n * 0.693_359_375
        r = r + n * 2.121_944_4e-4
        var p: Float = 1.0 / 5040
        p = p * r + 1.0 / 720
        p = p * r + 1.0 / 120
        p = p * r + 1.0 / 24
        p = p * r + 1.0 / 6
        p = p * r + 0.5
        p = p * r + 1
        p = p * r + 1
        let integer = Int32(bitPattern: shifted.bitPattern) &- 0x4B40_0000
        return p * Float(bitPattern: UInt32(bitPattern: (integer &+ 127) &<< 23))
    }

    /// Scalar erf, as the lane version.
    @inline(__always)
    public static func erf(_ x: Float) -> Float {
        let magnitude = Swift.min(Swift.abs(x), 10)
        let t = 1 / (1 + 0.327_591_1 * magnitude)
        var poly: Float = 1.061_405_429
        poly = poly * t - 1.453_152_027
        poly = poly * t + 1.421_413_741
        poly = poly * t - 0.284_496_736
        poly = poly * t + 0.254_829_592
        poly = poly * t
        let value = 1 - poly * exp(-magnitude * magnitude)
        return x < 0 ? -value : value
    }

    @inline(__always)
    public static func gelu(_ x: Float) -> Float {
        0.5 * x * (1 + erf(x * 0.707_106_781_186_547_6))
    }
}

/// Applies a lane function to `count` floats in place, eight at a time (the tail is padded).
@inline(__always)
func mapLanes(_ data: UnsafeMutablePointer<Float>, count: Int, _ function: (FastMath.Lanes) -> FastMath.Lanes) {
    let raw = UnsafeMutableRawPointer(data)
    var index = 0
    while index + 8 <= count {
        let lanes = raw.loadUnaligned(fromByteOffset: index * 4, as: FastMath.Lanes.self)
        raw.storeBytes(of: function(lanes), toByteOffset: index * 4, as: FastMath.Lanes.self)
        index += 8
    }
    if index < count {
        var lanes = FastMath.Lanes(repeating: 0)
        for lane in 0..<(count - index) { lanes[lane] = data[index + lane] }
        let result = function(lanes)
        for lane in 0..<(count - index) { data[index + lane] = result[lane] }
    }
}

/// GELU in place on `count` floats, split over `KernelThreads`.
public func geluInPlace(_ data: UnsafeMutablePointer<Float>, count: Int) {
    KernelThreads.forEach(count, grain: 16_384) { range in
        for index in range { data[index] = FastMath.gelu(data[index]) }
    }
}
