import Foundation

/// Turns a dense curve (one value per output frame) into few keys.
///
/// Guarantee: for every frame n, `|curve.value(at: t_n, interpolation) - samples[n]| <= tolerance`
/// (`BlendshapeCurve.value(at:interpolation:)` is the evaluator, `t_n = n / fps` exactly as
/// `FrameRate.time(ofFrame:)`). Keys lie on frames; the first and the last frame always carry a
/// key, so every curve spans the whole clip. Key values stay in [0, 1] when the samples do.
/// Step and linear take one pass over the frames; cubic about log2(segment length) passes.
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
        let keys: [Keyframe]
        switch interpolation {
        case .step: keys = reduceStep(y, epsilon: epsilon, time: time)
        case .linear: keys = reduceLinear(y, epsilon: epsilon, time: time)
        case .cubic: keys = reduceCubic(y, epsilon: epsilon, time: time)
        }
        // Appending left up to twice the needed capacity; a clip keeps these arrays, so trim them.
        return keys.withUnsafeBufferPointer { Array($0) }
    }

    /// `BlendshapeCurve.value(at:interpolation:)`'s arithmetic, operation for operation.
    private static func linearValue(_ ta: Double, _ va: Double, _ tb: Double, _ vb: Double, at t: Double) -> Double {
        let s = (t - ta) / (tb - ta)
        return va + (vb - va) * s
    }

    private static func cubicValue(
        _ ta: Double, _ va: Double, _ outTangent: Double, _ tb: Double, _ vb: Double, _ inTangent: Double, at t: Double
    ) -> Double {
        let span = tb - ta
        let s = (t - ta) / span
        let s2 = s * s
        let s3 = s2 * s
        return (2 * s3 - 3 * s2 + 1) * va + (s3 - 2 * s2 + s) * span * outTangent + (-2 * s3 + 3 * s2) * vb
            + (s3 - s2) * span * inTangent
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
                let inverse = 1 / dt
                let offset = y[k] - anchorValue
                let newLow = max(low, (offset - epsilon) * inverse)
                let newHigh = min(high, (offset + epsilon) * inverse)
                if newLow > newHigh { break }
                low = newLow
                high = newHigh
                // Could the segment end here, with a key value inside [floor, ceiling]?
                let endLow = max(low, (floor - anchorValue) * inverse)
                let endHigh = min(high, (ceiling - anchorValue) * inverse)
                if endLow <= endHigh {
                    let exact = offset * inverse
                    let slope = min(max(exact, endLow), endHigh)
                    bestEnd = k
                    bestValue = slope == exact ? y[k] : min(max(anchorValue + slope * dt, floor), ceiling)
                }
                k += 1
            }
            if epsilon == 0 && bestEnd > anchor + 1 {
                // A zero tolerance means bit-exact under the evaluator: check with its arithmetic.
                let (ta, tb) = (anchorTime, time(bestEnd))
                for k in (anchor + 1)..<bestEnd where linearValue(ta, anchorValue, tb, bestValue, at: time(k)) != y[k] {
                    bestEnd = anchor + 1
                    bestValue = y[anchor + 1]
                    break
                }
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
    /// invents overshoot at a key). From each key the next one goes as far as a verified fit
    /// reaches: candidate ends at 2, 4, 8 ... frames (galloping), then a binary search between
    /// the last end that fits and the first that does not. A segment fits when its Hermite curve
    /// passes within epsilon of every frame inside it; only verified segments are kept, so the
    /// guarantee holds even where fitting is not monotone in the segment's length.
    private static func reduceCubic(_ y: UnsafeBufferPointer<Double>, epsilon: Double, time: (Int) -> Double) -> [Keyframe] {
        let n = y.count
        // A zero tolerance means bit-exact under the evaluator, so check with its own arithmetic.
        let exact = epsilon == 0
        // Slopes per second between frames, then the tangent at each frame.
        var tangents = [Double](repeating: 0, count: n)
        tangents.withUnsafeMutableBufferPointer { tangent in
            var previousSlope = (y[1] - y[0]) / (time(1) - time(0))
            tangent[0] = previousSlope
            for i in 1..<(n - 1) {
                let slope = (y[i + 1] - y[i]) / (time(i + 1) - time(i))
                tangent[i] = previousSlope * slope <= 0 ? 0 : 2 * previousSlope * slope / (previousSlope + slope)
                previousSlope = slope
            }
            tangent[n - 1] = previousSlope
        }
        var keys: [Keyframe] = []
        tangents.withUnsafeBufferPointer { tangent in
            /// Does the Hermite segment from frame a to frame b stay within epsilon of every frame between?
            func fits(_ a: Int, _ b: Int) -> Bool {
                if exact {
                    let (ta, tb) = (time(a), time(b))
                    for k in (a + 1)..<b where cubicValue(ta, y[a], tangent[a], tb, y[b], tangent[b], at: time(k)) != y[k] {
                        return false
                    }
                    return true
                }
                // value(s) = c0 + s (c1 + s (c2 + s c3)), s in [0, 1], the Hermite form of the evaluator
                // (they differ by a few ulps, far inside the margin taken off the tolerance).
                let span = time(b) - time(a)
                let (va, vb) = (y[a], y[b])
                let (ma, mb) = (tangent[a] * span, tangent[b] * span)
                let c2 = 3 * (vb - va) - 2 * ma - mb
                let c3 = 2 * (va - vb) + ma + mb
                let inverse = 1 / Double(b - a)
                for k in (a + 1)..<b {
                    let s = Double(k - a) * inverse
                    let value = va + s * (ma + s * (c2 + s * c3))
                    if abs(value - y[k]) > epsilon { return false }
                }
                return true
            }
            func key(_ i: Int) -> Keyframe { Keyframe(time: time(i), value: y[i], inTangent: tangent[i], outTangent: tangent[i]) }
            keys.append(key(0))
            var a = 0
            while a < n - 1 {
                var good = a + 1
                var bad = -1
                var length = 2
                while true {
                    let b = min(a + length, n - 1)
                    if fits(a, b) {
                        good = b
                        if b == n - 1 { break }
                        length *= 2
                    } else {
                        bad = b
                        break
                    }
                }
                if bad > 0 {
                    while bad - good > 1 {
                        let middle = (good + bad) / 2
                        if fits(a, middle) { good = middle } else { bad = middle }
                    }
                }
                keys.append(key(good))
                a = good
            }
        }
        return keys
    }
}
