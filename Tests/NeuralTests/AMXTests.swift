import CKernels
import Foundation
import Testing

@testable import Neural

/// Long products on AMX tiles (three bf16 parts per operand, six products) against a plain loop
/// in Double and against the AVX-512 kernel's fp32 error.
@Suite("PackedLinear on AMX matches a plain reference loop")
struct AMXTests {
    /// y[r] = x[r * lda ..< r * lda + input] W^T + b in Double, rounded once.
    static func reference(_ x: [Float], lda: Int, rows: Int, weight: [Float], bias: [Float]?, output: Int, input: Int) -> [Double] {
        var y = [Double](repeating: 0, count: rows * output)
        for row in 0..<rows {
            for column in 0..<output {
                var total = Double(bias?[column] ?? 0)
                for inner in 0..<input { total += Double(x[row * lda + inner]) * Double(weight[column * input + inner]) }
                y[row * output + column] = total
            }
        }
        return y
    }

    static func worst(_ y: [Float], _ expected: [Double]) -> Double {
        zip(y, expected).reduce(0) { max($0, abs(Double($1.0) - $1.1)) }
    }

    /// Where the CPU has AMX, a layer with whole panels can take it and one with a partial panel
    /// cannot; elsewhere no layer can (and the AVX-512 or OpenBLAS path is what the other tests
    /// check). Off unless EMOBAKE_AMX=1 (the tests below call the AMX path directly).
    @Test func layersTakeAMXOnlyWhereItRuns() {
        #expect(PackedLinear.amxEnabled == (ProcessInfo.processInfo.environment["EMOBAKE_AMX"] == "1"))
        let wide = PackedLinear(weight: [Float](repeating: 0.5, count: 64 * 3), bias: nil, output: 64, input: 3)
        let partial = PackedLinear(weight: [Float](repeating: 0.5, count: 70 * 3), bias: nil, output: 70, input: 3)
        let off = PackedLinear(weight: [Float](repeating: 0.5, count: 64 * 3), bias: nil, output: 64, input: 3, useAMX: false)
        #expect(wide.usesAMX == PackedLinear.amxAvailable)
        #expect(!partial.usesAMX && !off.usesAMX)
        if ck_amx_available() == 0 { #expect(!PackedLinear.amxAvailable) }
    }

    /// Row counts around the 16-row groups (a last partial group), depths that are not a multiple
    /// of the 32-value steps or cross the 256-deep blocks, with and without bias, outputs written
    /// at a row stride wider than the layer (the gaps untouched): as accurate as the AVX-512
    /// kernel's fp32 sums on the same products.
    /// (Without AMX the path cannot run: reported as not run, and `layersTakeAMXOnlyWhereItRuns`
    /// checks that no layer takes it.)
    @Test(
        .enabled(if: PackedLinear.amxAvailable, "needs a CPU with AMX-BF16"),
        arguments: [(384, 32, 1), (385, 64, 33), (400, 96, 300), (399, 32, 1031), (512, 128, 77)])
    func matchesTheReference(_ shape: (Int, Int, Int)) {
        let (rows, output, input) = shape
        var random = TestRandom(UInt64(rows * 7 + output * 3 + input))
        let weight = random.floats(output * input), bias = random.floats(output), x = random.floats(rows * input)
        for withBias in [true, false] {
            let amx = PackedLinear(weight: weight, bias: withBias ? bias : nil, output: output, input: input)
            let fp32 = PackedLinear(weight: weight, bias: withBias ? bias : nil, output: output, input: input, useAMX: false)
            #expect(amx.usesAMX && !fp32.usesAMX)
            let expected = Self.reference(x, lda: input, rows: rows, weight: weight, bias: withBias ? bias : nil, output: output, input: input)
            let ldc = output + 3
            var strided = [Float](repeating: .nan, count: rows * ldc)
            strided.withUnsafeMutableBufferPointer { y in
                x.withUnsafeBufferPointer { amx.applyAMX($0.baseAddress!, lda: input, rows: rows, into: y.baseAddress!, ldc: ldc, activation: .none, threads: 2) }
            }
            let y = (0..<rows).flatMap { strided[($0 * ldc)..<($0 * ldc + output)] }
            #expect((0..<rows).allSatisfy { row in strided[(row * ldc + output)..<((row + 1) * ldc)].allSatisfy(\.isNaN) })
            var reference = [Float](repeating: 0, count: rows * output)
            fp32.apply(x, rows: rows, into: &reference)
            if !PackedLinear.amxEnabled {
                // AMX off (the default): the public path is the AVX-512 kernel's, whatever the layer can do.
                var viaApply = [Float](repeating: 0, count: rows * output)
                amx.apply(x, rows: rows, into: &viaApply)
                #expect(viaApply == reference, "\(shape): AMX is off, yet apply differs from the AVX-512 kernel")
            }
            let amxError = Self.worst(y, expected), fp32Error = Self.worst(reference, expected)
            // Sums of up to 1031 products of values in [-1, 1] (sums up to about 30): fp32 rounding
            // leaves them about 1e-5 off.
            #expect(amxError < 1e-4, "\(shape) bias \(withBias): \(amxError)")
            #expect(amxError <= 2 * fp32Error + 1e-6, "\(shape) bias \(withBias): AMX \(amxError), fp32 \(fp32Error)")
        }
    }

    /// A convolution's patches read in place (rows overlapping, lda < input), with GELU fused:
    /// the same bits as the product followed by `FastMath.gelu`, and the same bits on 1, 2 and 3
    /// threads, which share the row groups and panels out differently.
    @Test(
        .enabled(if: PackedLinear.amxAvailable, "needs a CPU with AMX-BF16"),
        arguments: [(1599, 512, 1536, 1024), (499, 256, 1024, 1024), (433, 64, 96, 32)])
    func overlappingRowsAnyThreadsAndGelu(_ shape: (Int, Int, Int, Int)) {
        let (rows, output, input, lda) = shape
        var random = TestRandom(UInt64(rows + output + input + lda))
        let weight = random.floats(output * input, scale: 0.05), bias = random.floats(output)
        let x = random.floats((rows - 1) * lda + input)
        let layer = PackedLinear(weight: weight, bias: bias, output: output, input: input)
        var results: [[Float]] = []
        for threads in [1, 2, 3] {
            var y = [Float](repeating: .nan, count: rows * output)
            y.withUnsafeMutableBufferPointer { y in
                x.withUnsafeBufferPointer { layer.applyAMX($0.baseAddress!, lda: lda, rows: rows, into: y.baseAddress!, ldc: output, activation: .none, threads: threads) }
            }
            results.append(y)
        }
        #expect(results[0] == results[1] && results[0] == results[2], "\(shape): the thread count changed the result")
        // Every 37th row against the plain loop (all of them would take long in a debug build).
        let sampled = Array(stride(from: 0, to: rows, by: 37))
        let expected = sampled.flatMap { row in
            Self.reference(Array(x[(row * lda)..<(row * lda + input)]), lda: input, rows: 1, weight: weight, bias: bias, output: output, input: input)
        }
        let got = sampled.flatMap { results[0][($0 * output)..<(($0 + 1) * output)] }
        #expect(Self.worst(got, expected) < 2e-5, "\(shape)")
        var fused = [Float](repeating: .nan, count: rows * output)
        fused.withUnsafeMutableBufferPointer { y in
            x.withUnsafeBufferPointer { layer.applyAMX($0.baseAddress!, lda: lda, rows: rows, into: y.baseAddress!, ldc: output, activation: .gelu, threads: 2) }
        }
        #expect(fused == results[0].map(FastMath.gelu), "\(shape): fused GELU")
    }
}
