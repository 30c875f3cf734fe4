import Foundation

/// Turns a dense curve (one value per output frame) into few keys.
///
/// Guarantee: for every frame n, `|curve.value(at: t_n, interpolation) - samples[n]| <= tolerance`
/// (`BlendshapeCurve.value(at:interpolation:)` is the evaluator, `t_n = n / fps` exactly as
/// `FrameRate.time(ofFrame:)`). Keys lie on frames; the first and the last frame always carry a
/// key, so every curve spans the whole clip. Key values stay in [0, 1] when the samples do.
/// Each interpolation is reduced in time linear in the number of frames (cubic: N log N).
public enum KeyReducer {
    /// Reduces `samples` (frame 0, 1, ... at `frameRate`) to keys.
    public static func reduce(
        _ samples: [Double], frameRate: FrameRate, interpolation: Interpolation, tolerance: Double
    ) -> [Keyframe] {
        samples.withUnsafeBufferPointer { reduce($0, frameRate: frameRate, interpolation: interpolation, tolerance: tolerance) }
    }

    static func reduce(
        _ y: UnsafeBufferPointer<Double>, frameRate: FrameRate, interpolation: Interpolation, tolerance: Double
    ) -> [Keyframe] {
        let n = y.count
        guard n > 0 else { return [] }
        let time = { (frame: Int) in frameRate.time(ofFrame: frame) }
        if n == 1 { return [Keyframe(time: 0, value: y[0])] }
        // Work with a hair less than the tolerance, so that rounding in the evaluator (a few ulps)
        // can never push a frame over it.
        let epsilon = max(0, tolerance - max(1e-12, tolerance * 1e-9))
        switch interpolation {
        case .step: return reduceStep(y, epsilon: epsilon, time: time)
        case .linear: return reduceLinear(y, epsilon: epsilon, time: time)
        case .cubic: return reduceCubic(y, epsilon: epsilon, time: time)
        }
    }

    // MARK: - Step

    /// Runs of frames whose range (max - min) fits in 2 epsilon share one key holding the
    /// middle of the range; the last frame gets its own key so the clip's end is keyed.
    private static func reduceStep(_ y: UnsafeBufferPointer<Double>, epsilon: Double, time: (Int) -> Double) -> [Keyframe] {
        let n = y.count
        var keys: [Keyframe] = []
        var start = 0
        var low = y[0]
        var high = y[0]
        func close(_ start: Int, _ low: Double, _ high: Double) {
            let value = start == 0 && low == high ? low : (low + high) / 2
            keys.append(Keyframe(time: time(start), value: value))
        }
        for i in 1..<(n - 1) {
            let newLow = min(low, y[i])
            let newHigh = max(high, y[i])
            if newHigh - newLow <= 2 * epsilon {
                low = newLow
                high = newHigh
            } else {
                close(start, low, high)
                start = i
                low = y[i]
                high = y[i]
            }
        }
        close(start, low, high)
        keys.append(Keyframe(time: time(n - 1), value: y[n - 1]))
        return keys
    }

    // MARK: - Linear

    /// Greedy "slope cone": from the last key (t_a, v_a), the admissible slopes s keep every frame
    /// k after it within epsilon: `(y_k - eps - v_a) / dt_k <= s <= (y_k + eps - v_a) / dt_k`. The
    /// segment grows while that interval is non-empty; the key goes at the furthest frame that
    /// could end it with a value in [0, 1] (the first frame always can: its exact slope is
    /// admissible), on the data value if admissible, else as near to it as allowed.
    private static func reduceLinear(_ y: UnsafeBufferPointer<Double>, epsilon: Double, time: (Int) -> Double) -> [Keyframe] {
        let n = y.count
        // Key values stay inside [0, 1], or inside the data's own range if that is wider.
        var floor = 0.0
        var ceiling = 1.0
        for i in 0..<n {
            floor = min(floor, y[i])
            ceiling = max(ceiling, y[i])
        }
        var keys = [Keyframe(time: time(0), value: y[0])]
        var anchor = 0
        var anchorValue = y[0]
        while anchor < n - 1 {
            let anchorTime = time(anchor)
            var low = -Double.infinity
            var high = Double.infinity
            var bestEnd = anchor + 1
            var bestValue = y[anchor + 1]
            var k = anchor + 1
            while k < n {
                let dt = time(k) - anchorTime
                let newLow = max(low, (y[k] - epsilon - anchorValue) / dt)
                let newHigh = min(high, (y[k] + epsilon - anchorValue) / dt)
                if newLow > newHigh { break }
                low = newLow
                high = newHigh
                // Could the segment end here, with a key value inside [floor, ceiling]?
                let endLow = max(low, (floor - anchorValue) / dt)
                let endHigh = min(high, (ceiling - anchorValue) / dt)
                if endLow <= endHigh {
                    let exact = (y[k] - anchorValue) / dt
                    let slope = min(max(exact, endLow), endHigh)
                    bestEnd = k
                    bestValue = slope == exact ? y[k] : min(max(anchorValue + slope * dt, floor), ceiling)
                }
                k += 1
            }
            keys.append(Keyframe(time: time(bestEnd), value: bestValue))
            anchor = bestEnd
            anchorValue = bestValue
        }
        return keys
    }

    // MARK: - Cubic

    /// Keys sit on data values with tangents taken from the dense curve (the Fritsch-Butland
    /// harmonic mean of the two neighbouring frame slopes, zero at a local extremum: it never
    /// invents overshoot at a key). Starting from the two end keys, every segment whose Hermite
    /// curve misses a frame by more than epsilon is split at its worst frame (or its middle if
    /// the worst frame hugs an end, which bounds the depth), until no frame misses.
    private static func reduceCubic(_ y: UnsafeBufferPointer<Double>, epsilon: Double, time: (Int) -> Double) -> [Keyframe] {
        let n = y.count
        func tangent(_ i: Int) -> Double {
            if i == 0 { return (y[1] - y[0]) / (time(1) - time(0)) }
            if i == n - 1 { return (y[n - 1] - y[n - 2]) / (time(n - 1) - time(n - 2)) }
            let left = (y[i] - y[i - 1]) / (time(i) - time(i - 1))
            let right = (y[i + 1] - y[i]) / (time(i + 1) - time(i))
            if left * right <= 0 { return 0 }
            return 2 * left * right / (left + right)
        }
        var isKey = [Bool](repeating: false, count: n)
        isKey[0] = true
        isKey[n - 1] = true
        // Explicit stack of segments to check: (first key frame, last key frame).
        var pending: [(Int, Int)] = [(0, n - 1)]
        while let (a, b) = pending.popLast() {
            guard b - a >= 2 else { continue }
            let ta = time(a)
            let span = time(b) - ta
            let va = y[a]
            let vb = y[b]
            let ma = tangent(a) * span
            let mb = tangent(b) * span
            var worst = -1
            var worstError = epsilon
            for k in (a + 1)..<b {
                let s = (time(k) - ta) / span
                let s2 = s * s
                let s3 = s2 * s
                let value = (2 * s3 - 3 * s2 + 1) * va + (s3 - 2 * s2 + s) * ma + (-2 * s3 + 3 * s2) * vb + (s3 - s2) * mb
                let error = abs(value - y[k])
                if error > worstError {
                    worstError = error
                    worst = k
                }
            }
            guard worst >= 0 else { continue }
            let length = b - a
            let split = (worst - a) * 8 < length || (b - worst) * 8 < length ? a + length / 2 : worst
            isKey[split] = true
            pending.append((a, split))
            pending.append((split, b))
        }
        var keys: [Keyframe] = []
        for i in 0..<n where isKey[i] {
            let slope = tangent(i)
            keys.append(Keyframe(time: time(i), value: y[i], inTangent: slope, outTangent: slope))
        }
        return keys
    }
}
