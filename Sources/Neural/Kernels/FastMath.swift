import CKernels

/// exp and erf for the activation and softmax kernels, written as plain scalar code: loops over
/// them are vectorised by the compiler (and `min`/`max` become single instructions), which
/// measured faster than hand-written SIMD8 code whose clamps went through a generic per-lane
/// path. Accuracy is stated per function and checked against libm in the tests.
public enum FastMath {
    /// e^x, relative error below 3e-7 for x in [-87, 88]; x below -87 gives about 1.6e-38
    /// (not 0), x above 88 is clamped to e^88.
    ///
    /// x = n ln 2 + r with |r| <= ln 2 / 2 (Cody-Waite split of ln 2), e^r by its Taylor series
    /// to degree 7 (remainder < r^8/8! < 6e-9), and 2^n built in the exponent bits. n is rounded
    /// with the 1.5 * 2^23 trick (Float addition rounds to nearest even; exact for |n| < 2^22).
    @inline(__always)
    public static func exp(_ x: Float) -> Float {
        let clamped = Swift.min(Swift.max(x, -87), 88)
        let shifted = clamped * 1.442_695_04 + 12_582_912
        let n = shifted - 12_582_912
        var r = clamped - n * 0.693_359_375
        r = r + n * 2.121_944_4e-4
        // Horner steps as fused multiply-adds (one instruction each with FMA, see Package.swift).
        var p: Float = 1.0 / 5040
        p = (1.0 / 720 as Float).addingProduct(p, r)
        p = (1.0 / 120 as Float).addingProduct(p, r)
        p = (1.0 / 24 as Float).addingProduct(p, r)
        p = (1.0 / 6 as Float).addingProduct(p, r)
        p = (0.5 as Float).addingProduct(p, r)
        p = (1 as Float).addingProduct(p, r)
        p = (1 as Float).addingProduct(p, r)
        // The low bits of `shifted` hold n (+ 0x400000); 2^n is (n + 127) in the exponent field.
        let integer = Int32(bitPattern: shifted.bitPattern) &- 0x4B40_0000
        return p * Float(bitPattern: UInt32(bitPattern: (integer &+ 127) &<< 23))
    }

    /// erf(x), absolute error below 5e-7 in Float arithmetic (the formula itself: 1.5e-7;
    /// Abramowitz & Stegun 7.1.26: erf(x) = 1 - (a1 t + ... + a5 t^5) e^(-x^2),
    /// t = 1 / (1 + p x) for x >= 0, odd symmetry).
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

    /// GELU as PyTorch's default ("gelu", not the tanh form): x * (1 + erf(x / sqrt 2)) / 2.
    @inline(__always)
    public static func gelu(_ x: Float) -> Float {
        0.5 * x * (1 + erf(x * 0.707_106_781_186_547_6))
    }
}

/// GELU in place on `count` floats, split over `KernelThreads`: 16 lanes at a time in
/// `CKernels` where the CPU has AVX-512 (the same bits as `FastMath.gelu`), else the loop
/// below (8 lanes with AVX2).
public func geluInPlace(_ data: UnsafeMutablePointer<Float>, count: Int) {
    let wide = PackedLinear.kernelAvailable
    KernelThreads.forEach(count, grain: 16_384) { range in
        if wide {
            ck_gelu(data + range.lowerBound, range.count)
        } else {
            for index in range { data[index] = FastMath.gelu(data[index]) }
        }
    }
}
