import Foundation

/// A smoothing preset prepared for one grid: sample interval `h` seconds and `count` samples.
/// Kernels (Savitzky-Golay, Gaussian) are computed once here and reused for every channel;
/// `apply` allocates nothing. Filters run in double precision in a fixed order, so results
/// are bit-identical across runs.
struct SmoothingPlan {
    private enum Stage {
        case exponential(a: Double, zeroPhase: Bool)
        case oneEuro(minCutoff: Double, beta: Double, derivativeAlpha: Double, h: Double)
        case spring(omega: Double, h: Double, zeroPhase: Bool)
        /// Symmetric interior kernel of half-width `radius`; edge samples use `leftEdge[n]`
        /// (window 0...2r, for n < r) and `rightEdge[k]` (window count-1-2r ... count-1, for
        /// n = count - r + k) when given, otherwise the truncated kernel renormalised.
        case convolution(kernel: [Double], radius: Int, leftEdge: [[Double]]?, rightEdge: [[Double]]?)
    }

    private let stages: [Stage]
    let count: Int

    init(_ filters: [SmoothingFilter], sampleInterval h: Double, count: Int) {
        self.count = count
        var stages: [Stage] = []
        guard count >= 2, h > 0 else {
            self.stages = []
            return
        }
        for filter in filters {
            switch filter {
            case .none:
                continue
            case .exponential(let tau, let zeroPhase):
                stages.append(.exponential(a: 1 - exp(-h / tau), zeroPhase: zeroPhase))
            case .oneEuro(let minCutoff, let beta, let derivativeCutoff):
                stages.append(
                    .oneEuro(
                        minCutoff: minCutoff, beta: beta, derivativeAlpha: Self.oneEuroAlpha(cutoff: derivativeCutoff, h: h), h: h))
            case .criticallyDampedSpring(let smoothTime, let zeroPhase):
                stages.append(.spring(omega: 2 / smoothTime, h: h, zeroPhase: zeroPhase))
            case .savitzkyGolay(let window, let order):
                if let stage = Self.savitzkyGolayStage(window: window, order: order, h: h, count: count) { stages.append(stage) }
            case .gaussian(let sigma):
                if let stage = Self.gaussianStage(sigma: sigma, h: h) { stages.append(stage) }
            }
        }
        self.stages = stages
    }

    var isIdentity: Bool { stages.isEmpty }

    /// `a = 1 / (1 + tau / h)` with `tau = 1 / (2 pi fc)`: the One-Euro paper's smoothing factor.
    static func oneEuroAlpha(cutoff: Double, h: Double) -> Double {
        let x = 2 * Double.pi * cutoff * h  // h / tau
        return x / (1 + x)
    }

    /// Smooths `values` (exactly `count` samples) in place; `scratch` holds at least `count`.
    func apply(_ values: UnsafeMutableBufferPointer<Double>, scratch: UnsafeMutableBufferPointer<Double>) {
        precondition(values.count == count && scratch.count >= count)
        let n = count
        for stage in stages {
            switch stage {
            case .exponential(let a, let zeroPhase):
                var y = values[0]
                for i in 1..<n {
                    y += a * (values[i] - y)
                    values[i] = y
                }
                if zeroPhase {
                    y = values[n - 1]
                    for i in stride(from: n - 2, through: 0, by: -1) {
                        y += a * (values[i] - y)
                        values[i] = y
                    }
                }
            case .oneEuro(let minCutoff, let beta, let derivativeAlpha, let h):
                var y = values[0]
                var derivative = 0.0
                for i in 1..<n {
                    let x = values[i]
                    derivative += derivativeAlpha * ((x - y) / h - derivative)
                    let cutoff = minCutoff + beta * abs(derivative)
                    y += Self.oneEuroAlpha(cutoff: cutoff, h: h) * (x - y)
                    values[i] = y
                }
            case .spring(let omega, let h, let zeroPhase):
                Self.spring(values, omega: omega, h: h, forward: true)
                if zeroPhase { Self.spring(values, omega: omega, h: h, forward: false) }
            case .convolution(let kernel, let radius, let leftEdge, let rightEdge):
                Self.convolve(values, into: scratch, kernel: kernel, radius: radius, leftEdge: leftEdge, rightEdge: rightEdge)
                for i in 0..<n { values[i] = scratch[i] }
            }
        }
    }

    /// Critically damped spring toward the held input x over each step h:
    /// with d = y - x and j = v + w d, `y' = x + (d + j h) e^(-w h)`, `v' = (v - w j h) e^(-w h)`.
    private static func spring(_ values: UnsafeMutableBufferPointer<Double>, omega: Double, h: Double, forward: Bool) {
        let n = values.count
        let decay = exp(-omega * h)
        var y = values[forward ? 0 : n - 1]
        var velocity = 0.0
        for step in 1..<n {
            let i = forward ? step : n - 1 - step
            let x = values[i]
            let d = y - x
            let j = velocity + omega * d
            y = x + (d + j * h) * decay
            velocity = (velocity - omega * j * h) * decay
            values[i] = y
        }
    }

    private static func convolve(
        _ x: UnsafeMutableBufferPointer<Double>, into out: UnsafeMutableBufferPointer<Double>, kernel: [Double], radius r: Int,
        leftEdge: [[Double]]?, rightEdge: [[Double]]?
    ) {
        let n = x.count
        kernel.withUnsafeBufferPointer { k in
            // Interior: the full kernel fits.
            if n > 2 * r {
                for i in r..<(n - r) {
                    var sum = 0.0
                    let base = i - r
                    for t in 0...(2 * r) { sum += k[t] * x[base + t] }
                    out[i] = sum
                }
            }
            let edgeIndices = n > 2 * r ? Array(0..<r) + Array((n - r)..<n) : Array(0..<n)
            for i in edgeIndices {
                if let leftEdge, let rightEdge, n > 2 * r {
                    let (weights, start) = i < r ? (leftEdge[i], 0) : (rightEdge[i - (n - r)], n - 1 - 2 * r)
                    var sum = 0.0
                    for t in 0..<weights.count { sum += weights[t] * x[start + t] }
                    out[i] = sum
                } else {
                    // Truncated kernel, renormalised so that constants stay constant.
                    var sum = 0.0
                    var total = 0.0
                    for t in max(-r, -i)...min(r, n - 1 - i) {
                        sum += k[t + r] * x[i + t]
                        total += k[t + r]
                    }
                    out[i] = sum / total
                }
            }
        }
    }

    // MARK: - Kernels

    private static func gaussianStage(sigma: Double, h: Double) -> Stage? {
        let sigmaSamples = sigma / h
        // Below a twentieth of a sample the kernel is a delta to double precision at the taps.
        guard sigmaSamples >= 0.05 else { return nil }
        let radius = max(1, Int((3 * sigmaSamples).rounded(.up)))
        var kernel = (-radius...radius).map { exp(-Double($0 * $0) / (2 * sigmaSamples * sigmaSamples)) }
        let total = kernel.reduce(0, +)
        kernel = kernel.map { $0 / total }
        return .convolution(kernel: kernel, radius: radius, leftEdge: nil, rightEdge: nil)
    }

    private static func savitzkyGolayStage(window: Double, order: Int, h: Double, count: Int) -> Stage? {
        var half = Int((window / h / 2).rounded())
        half = max(half, (order + 1) / 2)  // 2m + 1 > order: the fit must be determined
        half = min(half, (count - 1) / 2)
        guard half >= 1 else { return nil }
        let degree = min(order, 2 * half)
        guard degree < 2 * half else { return nil }  // a polynomial through every window sample changes nothing
        let solution = savitzkyGolaySolution(half: half, degree: degree)
        func weights(atOffset q: Int) -> [Double] {
            let u = Double(q) / Double(half)
            var result = [Double](repeating: 0, count: 2 * half + 1)
            var power = 1.0
            for j in 0...degree {
                for i in 0..<result.count { result[i] += power * solution[j][i] }
                power *= u
            }
            return result
        }
        let centre = weights(atOffset: 0)
        let left = (0..<half).map { weights(atOffset: $0 - half) }
        let right = (0..<half).map { weights(atOffset: $0 + 1) }
        return .convolution(kernel: centre, radius: half, leftEdge: left, rightEdge: right)
    }

    /// `(A^T A)^-1 A^T` for `A[i][j] = (i / m)^j`, i = -m...m, j = 0...degree: row j gives the
    /// least-squares coefficient of u^j as weights over the window's samples.
    static func savitzkyGolaySolution(half m: Int, degree p: Int) -> [[Double]] {
        let size = 2 * m + 1
        let columns = p + 1
        var design = [[Double]](repeating: [Double](repeating: 0, count: columns), count: size)
        for i in 0..<size {
            let u = Double(i - m) / Double(m)
            var power = 1.0
            for j in 0..<columns {
                design[i][j] = power
                power *= u
            }
        }
        // Normal equations G X = A^T, solved by Gaussian elimination with partial pivoting.
        var gram = [[Double]](repeating: [Double](repeating: 0, count: columns), count: columns)
        var rhs = [[Double]](repeating: [Double](repeating: 0, count: size), count: columns)
        for a in 0..<columns {
            for b in 0..<columns {
                var sum = 0.0
                for i in 0..<size { sum += design[i][a] * design[i][b] }
                gram[a][b] = sum
            }
            for i in 0..<size { rhs[a][i] = design[i][a] }
        }
        for pivotColumn in 0..<columns {
            var best = pivotColumn
            for row in (pivotColumn + 1)..<max(columns, pivotColumn + 1) where abs(gram[row][pivotColumn]) > abs(gram[best][pivotColumn]) {
                best = row
            }
            gram.swapAt(pivotColumn, best)
            rhs.swapAt(pivotColumn, best)
            let pivot = gram[pivotColumn][pivotColumn]
            for row in 0..<columns where row != pivotColumn {
                let factor = gram[row][pivotColumn] / pivot
                if factor == 0 { continue }
                for column in pivotColumn..<columns { gram[row][column] -= factor * gram[pivotColumn][column] }
                for i in 0..<size { rhs[row][i] -= factor * rhs[pivotColumn][i] }
            }
        }
        for row in 0..<columns {
            let pivot = gram[row][row]
            for i in 0..<size { rhs[row][i] /= pivot }
        }
        return rhs
    }
}
