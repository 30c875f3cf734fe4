import Curves
import Foundation
import Testing

@Suite("Key reduction")
struct KeyReducerTests {
    enum Shape: String, CaseIterable, Sendable {
        /// A few slow sinusoids: what smoothed emotion curves look like.
        case smooth
        /// Smooth plus white noise: raw model output.
        case noisy
        /// Plateaus with jumps, clamped at 0 and 1.
        case steps
        /// Random values every frame: the worst case.
        case random
    }

    static func curve(_ shape: Shape, count: Int, seed: UInt64) -> [Double] {
        var random = SeededRandom(seed: seed)
        let phases = (0..<3).map { _ in random.uniform(0, 2 * .pi) }
        let frequencies = (0..<3).map { _ in random.uniform(0.05, 0.6) }
        var level = random.unit()
        return (0..<count).map { n in
            let t = Double(n) / 30
            let smooth = 0.5 + 0.25 * sin(2 * .pi * frequencies[0] * t + phases[0]) + 0.15 * sin(2 * .pi * frequencies[1] * t + phases[1])
                + 0.1 * sin(2 * .pi * frequencies[2] * t + phases[2])
            switch shape {
            case .smooth: return smooth
            case .noisy: return min(max(smooth + random.uniform(-0.03, 0.03), 0), 1)
            case .steps:
                if random.unit() < 0.03 { level = random.uniform(-0.3, 1.3) }
                return min(max(level, 0), 1)
            case .random: return random.unit()
            }
        }
    }

    /// The largest |keyed - dense| over every frame, evaluated by the clip's own evaluator.
    static func maxDeviation(_ keys: [Keyframe], _ dense: [Double], _ rate: FrameRate, _ interpolation: Interpolation) -> Double {
        let curve = BlendshapeCurve(name: "c", keys: keys)
        var worst = 0.0
        for (n, value) in dense.enumerated() {
            worst = max(worst, abs(curve.value(at: rate.time(ofFrame: n), interpolation: interpolation) - value))
        }
        return worst
    }

    static let rates = [FrameRate(numerator: 30), FrameRate(numerator: 30000, denominator: 1001), FrameRate(numerator: 24)]

    @Test(arguments: Interpolation.allCases, Shape.allCases)
    func neverDeviatesMoreThanTheTolerance(interpolation: Interpolation, shape: Shape) {
        for seed in UInt64(1)...8 {
            for tolerance in [0.0, 0.0005, 0.002, 0.01, 0.05] {
                let rate = Self.rates[Int(seed) % Self.rates.count]
                let dense = Self.curve(shape, count: 300 + Int(seed) * 37, seed: seed)
                let keys = KeyReducer.reduce(dense, frameRate: rate, interpolation: interpolation, tolerance: tolerance)
                let deviation = Self.maxDeviation(keys, dense, rate, interpolation)
                #expect(deviation <= tolerance, "\(interpolation) \(shape) seed \(seed) tolerance \(tolerance): \(deviation)")
                // Keys sit on frames, increase, cover the clip, and stay in [0, 1].
                #expect(keys.first?.time == 0)
                #expect(keys.last?.time == rate.time(ofFrame: dense.count - 1))
                for (a, b) in zip(keys, keys.dropFirst()) { #expect(a.time < b.time) }
                for key in keys {
                    let frame = (key.time * Double(rate.numerator) / Double(rate.denominator)).rounded()
                    #expect(key.time == rate.time(ofFrame: Int(frame)))
                    #expect(key.value >= 0 && key.value <= 1)
                }
            }
        }
    }

    /// The test curves change fast for emotion (up to 0.6 Hz at 0.25 amplitude); even so linear
    /// keeps under a third of the frames and cubic under an eighth at a 0.002 tolerance.
    @Test(arguments: [(Interpolation.linear, 1.0 / 3), (Interpolation.cubic, 1.0 / 8)])
    func smoothCurvesLoseMostKeys(interpolation: Interpolation, maximumFraction: Double) {
        for seed in UInt64(1)...8 {
            let dense = Self.curve(.smooth, count: 900, seed: seed)
            let keys = KeyReducer.reduce(dense, frameRate: FrameRate(numerator: 30), interpolation: interpolation, tolerance: 0.002)
            #expect(Double(keys.count) < maximumFraction * Double(dense.count), "\(interpolation) seed \(seed): \(keys.count) keys")
        }
    }

    @Test func cubicNeedsFewerKeysThanLinearOnSmoothCurves() {
        let dense = Self.curve(.smooth, count: 900, seed: 3)
        let rate = FrameRate(numerator: 30)
        let linear = KeyReducer.reduce(dense, frameRate: rate, interpolation: .linear, tolerance: 0.001).count
        let cubic = KeyReducer.reduce(dense, frameRate: rate, interpolation: .cubic, tolerance: 0.001).count
        #expect(cubic * 2 < linear)
    }

    @Test func stepKeysOnePerPlateau() {
        // Three plateaus with sub-tolerance jitter: one key each, plus the last frame.
        var random = SeededRandom(seed: 11)
        let levels = [0.2, 0.7, 0.4]
        let dense = (0..<90).map { levels[$0 / 30] + random.uniform(-0.001, 0.001) }
        let keys = KeyReducer.reduce(dense, frameRate: FrameRate(numerator: 30), interpolation: .step, tolerance: 0.002)
        #expect(keys.count == 4)
        #expect(keys.map(\.time) == [0, 1, 2, 89.0 / 30])
        for (key, level) in zip(keys, levels) { #expect(abs(key.value - level) <= 0.002) }
    }

    @Test func linearFindsTheCornersOfAPiecewiseLinearCurve() {
        // Corners at frames 0, 20, 50, 99.
        let corners: [(Int, Double)] = [(0, 0.1), (20, 0.9), (50, 0.3), (99, 0.3)]
        var dense: [Double] = []
        for n in 0..<100 {
            let segment = corners.indices.dropLast().last { corners[$0].0 <= n }!
            let (a, va) = corners[segment]
            let (b, vb) = corners[segment + 1]
            dense.append(va + (vb - va) * Double(n - a) / Double(b - a))
        }
        let rate = FrameRate(numerator: 25)
        let keys = KeyReducer.reduce(dense, frameRate: rate, interpolation: .linear, tolerance: 1e-9)
        #expect(keys.map(\.time) == corners.map { rate.time(ofFrame: $0.0) })
        for (key, corner) in zip(keys, corners) { #expect(abs(key.value - corner.1) < 1e-9) }
    }

    @Test(arguments: Interpolation.allCases)
    func flatCurvesKeepOnlyTheEnds(interpolation: Interpolation) {
        let keys = KeyReducer.reduce([Double](repeating: 0.25, count: 500), frameRate: FrameRate(numerator: 60), interpolation: interpolation, tolerance: 0.002)
        #expect(keys.map(\.time) == [0, 499.0 / 60])
        #expect(keys.allSatisfy { $0.value == 0.25 && $0.inTangent == 0 && $0.outTangent == 0 })
        #expect(KeyReducer.reduce([0.5], frameRate: FrameRate(numerator: 30), interpolation: interpolation, tolerance: 0).map(\.time) == [0])
    }

    @Test func cubicTangentsFollowTheCurveAndFlattenAtExtremes() {
        let rate = FrameRate(numerator: 30)
        let dense = (0..<61).map { 0.5 + 0.4 * sin(2 * .pi * Double($0) / 60) }  // one period over 2 s
        let keys = KeyReducer.reduce(dense, frameRate: rate, interpolation: .cubic, tolerance: 0.0005)
        for key in keys {
            #expect(key.inTangent == key.outTangent)
            let frame = Int((key.time * 30).rounded())
            if frame > 0 && frame < 60 {
                // Close to the true derivative 0.4 * 2 pi / 2 * cos(pi t) away from the extremes.
                let exact = 0.4 * .pi * cos(.pi * key.time)
                if abs(exact) > 0.5 { #expect(abs(key.outTangent - exact) < 0.05 * abs(exact), "frame \(frame)") }
            }
        }
        // Frame 15 is the maximum: its tangent is 0, so the curve cannot overshoot there.
        let peak = KeyReducer.reduce(dense, frameRate: rate, interpolation: .cubic, tolerance: 0)
        #expect(peak.first { abs($0.time - 0.5) < 1e-12 }?.outTangent == 0)
    }
}
