import Testing

@testable import Neural

/// The packed AVX-512 linear layer (and its OpenBLAS fallback) against a plain loop in Double.
@Suite("PackedLinear matches a plain reference loop")
struct PackedLinearTests {
    /// y = x W^T + b in Double, rounded once.
    static func reference(_ x: [Float], rows: Int, weight: [Float], bias: [Float]?, output: Int, input: Int) -> [Float] {
        var y = [Float](repeating: 0, count: rows * output)
        for row in 0..<rows {
            for column in 0..<output {
                var total = Double(bias?[column] ?? 0)
                for inner in 0..<input { total += Double(x[row * input + inner]) * Double(weight[column * input + inner]) }
                y[row * output + column] = Float(total)
            }
        }
        return y
    }

    /// The paths to test here: the OpenBLAS fallback always, the kernel where the CPU has AVX-512.
    static var paths: [Bool] { PackedLinear.kernelAvailable ? [false, true] : [false] }

    /// Odd shapes: every row count from 1 to 70 over a few widths (outputs not a multiple of 16
    /// or 32, odd inputs, depths across the kernel's 512-deep blocks), with and without bias.
    @Test(arguments: [(1, 7), (15, 3), (17, 33), (33, 257), (47, 129), (50, 301), (95, 21), (9, 1031)])
    func oddShapesMatchTheReference(_ shape: (Int, Int)) throws {
        let (output, input) = shape
        var random = TestRandom(UInt64(output * 1000 + input))
        let weight = random.floats(output * input), bias = random.floats(output)
        var layers: [(layer: PackedLinear, withBias: Bool)] = []
        for useKernel in Self.paths {
            for withBias in [true, false] {
                let layer = PackedLinear(weight: weight, bias: withBias ? bias : nil, output: output, input: input, useKernel: useKernel)
                #expect(layer.usesKernel == useKernel)
                layers.append((layer, withBias))
            }
        }
        var worst = [Float](repeating: 0, count: layers.count)
        for rows in 1...70 {
            let x = random.floats(rows * input)
            let withBias = Self.reference(x, rows: rows, weight: weight, bias: bias, output: output, input: input)
            let withoutBias = Self.reference(x, rows: rows, weight: weight, bias: nil, output: output, input: input)
            for (index, entry) in layers.enumerated() {
                // Sentinels after the output: nothing past rows x output is written.
                var y = [Float](repeating: .nan, count: rows * output + 5)
                y.withUnsafeMutableBufferPointer { entry.layer.apply(x, rows: rows, into: $0.baseAddress!) }
                worst[index] = max(worst[index], maxAbsDifference(Array(y[0..<(rows * output)]), entry.withBias ? withBias : withoutBias))
                #expect(y[(rows * output)...].allSatisfy { $0.isNaN })
            }
        }
        for (index, entry) in layers.enumerated() {
            // Sums of up to 1031 products of values in [-1, 1]: float rounding stays near 1e-5.
            #expect(worst[index] < 1e-4, "kernel \(entry.layer.usesKernel) bias \(entry.withBias) (\(output), \(input)): \(worst[index])")
        }
    }

    /// The model's shapes on 1 and 2 threads (split into tasks of panels, the rows copied once
    /// for all of them, or by each task when that copy would be over 4 MB: 1100 x 1100): the
    /// same bits.
    @Test(arguments: [(49, 768, 768), (49, 200, 3072), (249, 2304, 768), (70, 1001, 257), (1001, 70, 33), (1100, 70, 1100)])
    func resultDoesNotDependOnThreads(_ shape: (Int, Int, Int)) {
        let (rows, output, input) = shape
        var random = TestRandom(UInt64(rows + output + input))
        let weight = random.floats(output * input, scale: 0.1), bias = random.floats(output), x = random.floats(rows * input)
        for useKernel in Self.paths {
            let layer = PackedLinear(weight: weight, bias: bias, output: output, input: input, useKernel: useKernel)
            var one = [Float](repeating: 0, count: rows * output), two = one, three = one
            layer.apply(x, rows: rows, into: &one, threads: 1)
            layer.apply(x, rows: rows, into: &two, threads: 2)
            layer.apply(x, rows: rows, into: &three, threads: 3)
            #expect(one == two, "kernel \(useKernel) \(shape): 1 and 2 threads differ")
            #expect(one == three, "kernel \(useKernel) \(shape): 1 and 3 threads differ")
            // The first rows against the plain loop (all of them would take long in a debug build).
            let expected = Self.reference(Array(x[0..<(3 * input)]), rows: 3, weight: weight, bias: bias, output: output, input: input)
            #expect(maxAbsDifference(Array(one[0..<(3 * output)]), expected) < 1e-4, "kernel \(useKernel) \(shape)")
        }
    }

    /// GELU fused into the kernel's last step gives the same bits as the product followed by
    /// `FastMath.gelu` on every element, on 1 and 2 threads (a depth over two 512-deep blocks,
    /// a partial panel), and the OpenBLAS path applies the same GELU after its product.
    @Test(arguments: [(61, 77, 1100), (3, 40, 9), (130, 300, 768)])
    func fusedGeluIsTheProductThenGelu(_ shape: (Int, Int, Int)) {
        let (rows, output, input) = shape
        var random = TestRandom(UInt64(7 * rows + output + input))
        let weight = random.floats(output * input, scale: 0.1), bias = random.floats(output), x = random.floats(rows * input)
        for useKernel in Self.paths {
            let layer = PackedLinear(weight: weight, bias: bias, output: output, input: input, useKernel: useKernel)
            var plain = [Float](repeating: 0, count: rows * output)
            layer.apply(x, rows: rows, into: &plain, threads: 1)
            let expected = plain.map(FastMath.gelu)
            #expect(expected.contains { $0 < 0 } && expected.contains { $0 > 0.5 })
            for threads in [1, 2] {
                var fused = [Float](repeating: .nan, count: rows * output)
                layer.apply(x, rows: rows, into: &fused, activation: .gelu, threads: threads)
                #expect(fused == expected, "kernel \(useKernel) \(shape) on \(threads) threads")
            }
        }
    }

    /// The AVX-512 GELU (`geluInPlace` where the CPU has it) against `FastMath.gelu`, bit for
    /// bit, from -12 to 12 and at the clamps, in lengths that leave a tail of 1 to 15 lanes.
    @Test func wideGeluIsFastMathGelu() {
        var values: [Float] = stride(from: Float(-12), through: 12, by: 0.000_73).map { $0 }
        values += [0, -0, 1e-30, -1e-30, 100, -100, 3.4e38, -3.4e38, .leastNonzeroMagnitude]
        for length in [values.count, 17, 31, 1] {
            var data = Array(values.prefix(length))
            geluInPlace(&data, count: data.count)
            let expected = values.prefix(length).map(FastMath.gelu)
            #expect(data == expected, "length \(length)")
        }
    }

    /// The kernel on any share of rows and panels gives the same bits as on the whole product
    /// (what lets the threads share it out freely), and leaves other columns alone.
    @Test func anyShareGivesTheSameBits() throws {
        try #require(PackedLinear.kernelAvailable, "no AVX-512 here: the kernel cannot run")
        let rows = 37, output = 150, input = 300
        var random = TestRandom(7)
        let weight = random.floats(output * input), bias = random.floats(output), x = random.floats(rows * input)
        let layer = PackedLinear(weight: weight, bias: bias, output: output, input: input, useKernel: true)
        #expect(layer.panelCount == 5)
        var whole = [Float](repeating: 0, count: rows * output)
        layer.applyPanels(x, lda: input, rows: rows, into: &whole, panels: 0..<5)
        var pieces = [Float](repeating: .nan, count: rows * output)
        // Rows 0..<20 and 20..<37, panels {0, 1}, {2}, {3, 4}: each piece written separately.
        x.withUnsafeBufferPointer { x in
            pieces.withUnsafeMutableBufferPointer { y in
                for (first, count) in [(0, 20), (20, 17)] {
                    for panels in [0..<2, 2..<3, 3..<5] {
                        layer.applyPanels(x.baseAddress! + first * input, lda: input, rows: count, into: y.baseAddress! + first * output, panels: panels)
                    }
                }
            }
        }
        #expect(whole == pieces)
        // Packing: panel p holds outputs 32p..<32p+32 for every input, zero past the last output.
        let packed = try #require(layer.packedWeights)
        #expect(packed.count == 5 * 32 * input)
        #expect(packed[(4 * input + 3) * 32 + 5] == weight[(4 * 32 + 5) * input + 3])
        #expect(packed[(4 * input + 3) * 32 + 30] == 0)
    }
}

/// Operands packed at run time (attention's keys and values) against a plain loop.
@Suite("PackedProduct matches a plain reference loop")
struct PackedProductTests {
    @Test(arguments: [(1, 1, 1), (5, 33, 64), (70, 47, 65), (128, 100, 64), (13, 64, 601)])
    func packedOperandsMatchTheReference(_ shape: (Int, Int, Int)) throws {
        try #require(PackedLinear.kernelAvailable, "no AVX-512 here: the kernel cannot run")
        let (rows, columns, depth) = shape
        var random = TestRandom(UInt64(rows * 7 + columns * 11 + depth))
        // a (rows, depth) at row stride depth + 3; b once as (columns, depth) rows at stride
        // depth + 2 (transposed), once as (depth, columns) at stride columns + 5.
        let lda = depth + 3, ldRows = depth + 2, ldMatrix = columns + 5
        let a = random.floats(rows * lda), b = random.floats(columns * ldRows)
        var matrix = [Float](repeating: .nan, count: depth * ldMatrix)
        for i in 0..<depth { for j in 0..<columns { matrix[i * ldMatrix + j] = b[j * ldRows + i] } }
        var expected = [Float](repeating: 0, count: rows * columns)
        for r in 0..<rows {
            for j in 0..<columns {
                var total = 0.0
                for i in 0..<depth { total += Double(a[r * lda + i]) * Double(b[j * ldRows + i]) }
                expected[r * columns + j] = Float(total)
            }
        }
        let count = PackedProduct.count(columns: columns, depth: depth)
        var transposed = [Float](repeating: .nan, count: count), plain = [Float](repeating: .nan, count: count)
        PackedProduct.packTransposed(b, ld: ldRows, columns: columns, depth: depth, into: &transposed)
        PackedProduct.packRows(matrix, ld: ldMatrix, depth: depth, columns: columns, into: &plain)
        #expect(transposed == plain)
        // c at row stride columns + 1: the extra column keeps its sentinel.
        let ldc = columns + 1
        var c = [Float](repeating: .nan, count: rows * ldc)
        PackedProduct.multiply(a, lda: lda, transposed, into: &c, ldc: ldc, rows: rows, columns: columns, depth: depth)
        var worst: Float = 0
        for r in 0..<rows {
            for j in 0..<columns { worst = max(worst, abs(c[r * ldc + j] - expected[r * columns + j])) }
            #expect(c[r * ldc + columns].isNaN)
        }
        #expect(worst < 1e-4, "\(shape): \(worst)")
    }

    /// Attention on the kernel's row-copy layout: scores written there by the first product
    /// (`intoCopied`), the softmax in place there, then `multiplyCopied`, give the same bits as
    /// row-major scores, the row-major softmax and `multiply`; widths across the 512-column
    /// blocks, tails of 1 to 15 lanes, partial panels.
    @Test(arguments: [(1, 7, 64, 64), (128, 1499, 64, 64), (37, 512, 33, 16), (5, 1030, 64, 5)])
    func attentionOnTheCopiedLayout(_ shape: (Int, Int, Int, Int)) throws {
        try #require(PackedLinear.kernelAvailable, "no AVX-512 here: the kernel cannot run")
        let (rows, width, columns, depth) = shape
        var random = TestRandom(UInt64(rows * 13 + width + columns))
        let queries = random.floats(rows * depth, scale: 2), keys = random.floats(width * depth), values = random.floats(width * columns)
        var packedKeys = [Float](repeating: .nan, count: PackedProduct.count(columns: width, depth: depth))
        var packedValues = [Float](repeating: .nan, count: PackedProduct.count(columns: columns, depth: width))
        PackedProduct.packTransposed(keys, ld: depth, columns: width, depth: depth, into: &packedKeys)
        PackedProduct.packRows(values, ld: columns, depth: width, columns: columns, into: &packedValues)
        // Row-major: scores, softmax in place, product.
        var scores = [Float](repeating: .nan, count: rows * width), sums = [Float](repeating: 0, count: rows)
        PackedProduct.multiply(queries, lda: depth, packedKeys, into: &scores, ldc: width, rows: rows, columns: width, depth: depth)
        softmaxRowsUnnormalised(&scores, rows: rows, width: width, inverseSums: &sums)
        var expected = [Float](repeating: .nan, count: rows * columns)
        PackedProduct.multiply(scores, lda: width, packedValues, into: &expected, ldc: columns, rows: rows, columns: columns, depth: width)
        // The same on the copied layout.
        let copied = PackedProduct.copiedBuffer(rows: rows, depth: width)
        var copiedSums = [Float](repeating: 0, count: rows), output = [Float](repeating: .nan, count: rows * columns)
        PackedProduct.multiply(queries, lda: depth, packedKeys, intoCopied: copied, rows: rows, columns: width, depth: depth)
        copiedSums.withUnsafeMutableBufferPointer { softmaxRowsUnnormalised(copied: copied, rows: rows, width: width, inverseSums: $0.baseAddress!) }
        PackedProduct.multiplyCopied(copied, packedValues, into: &output, ldc: columns, rows: rows, columns: columns, depth: width)
        #expect(copiedSums == sums)
        #expect(output == expected, "\(shape)")
        #expect(expected.allSatisfy { $0.isFinite } && sums.allSatisfy { $0 > 0 && $0 <= 1 })
    }
}
