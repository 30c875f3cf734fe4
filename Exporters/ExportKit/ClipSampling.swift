import Curves

// Helpers every format shares: refusing clips no format can hold, the dense output frames,
// and sampling a curve's value and slopes at arbitrary times in one forward pass.

extension AnimationClip {
    /// Throws an `ExportError` naming the clip and channel when the clip cannot be written:
    /// no curves, an empty or duplicate channel name, a curve without keys, key times that are
    /// negative, not finite or not strictly increasing, or a value or tangent that is not finite.
    public func validateForExport() throws {
        guard !curves.isEmpty else {
            throw ExportError("clip.empty", "clip \"\(name)\": no blendshape curves to export")
        }
        guard duration.isFinite, duration >= 0 else {
            throw ExportError("clip.duration", "clip \"\(name)\": duration \(duration) is not a finite time >= 0")
        }
        var seen = Set<String>()
        for (index, curve) in curves.enumerated() {
            let label = "clip \"\(name)\", curve \(index) \"\(curve.name)\""
            guard !curve.name.isEmpty else { throw ExportError("clip.channelName", "\(label): empty blendshape name") }
            guard seen.insert(curve.name).inserted else {
                throw ExportError("clip.duplicateChannel", "\(label): blendshape name used twice")
            }
            guard !curve.keys.isEmpty else { throw ExportError("clip.noKeys", "\(label): curve has no keys") }
            var previous = -Double.infinity
            for (keyIndex, key) in curve.keys.enumerated() {
                guard key.time.isFinite, key.time >= 0, key.time > previous else {
                    throw ExportError(
                        "clip.keyTime", "\(label), key \(keyIndex): time \(key.time) is not a finite, increasing time >= 0")
                }
                guard key.value.isFinite, key.inTangent.isFinite, key.outTangent.isFinite else {
                    throw ExportError("clip.keyValue", "\(label), key \(keyIndex): value or tangent is not finite")
                }
                previous = key.time
            }
        }
    }

    /// The number of output frames: frame n sits at `frameRate.time(ofFrame: n)` for
    /// n in 0..<outputFrameCount, the last one at or before `duration`.
    public var outputFrameCount: Int { frameRate.lastFrame(atOrBefore: duration) + 1 }

    /// The time of every output frame, in seconds.
    public var outputFrameTimes: [Double] { (0..<outputFrameCount).map { frameRate.time(ofFrame: $0) } }
}

/// A curve's value and slopes at one time. `inSlope` and `outSlope` are derivatives in value
/// units per second just before and just after the time; they differ only at a key whose
/// tangents are broken. Outside the keyed range the curve holds its end value (slope 0).
public struct CurveSample: Sendable, Equatable {
    public var value: Double
    public var inSlope: Double
    public var outSlope: Double
}

/// Samples one curve at non-decreasing times in amortised O(1) per call (a forward-moving
/// segment index instead of a binary search). Values equal `BlendshapeCurve.value(at:
/// interpolation:)`; slopes follow the same interpolation (0 for step, the secant for
/// linear, the Hermite derivative for cubic).
public struct CurveCursor {
    public let curve: BlendshapeCurve
    public let interpolation: Interpolation
    /// Index of the key that starts the segment holding the last sampled time.
    private var segment = 0

    public init(_ curve: BlendshapeCurve, interpolation: Interpolation) {
        self.curve = curve
        self.interpolation = interpolation
    }

    /// The value at `time` (times must not decrease between calls).
    public mutating func value(at time: Double) -> Double { sample(at: time).value }

    /// Value and slopes at `time` (times must not decrease between calls).
    ///
    /// Cubic segment [a, b] with span h = t_b - t_a and s = (t - t_a) / h:
    ///   p(s)  = (2s^3 - 3s^2 + 1) v_a + (s^3 - 2s^2 + s) h m_a + (-2s^3 + 3s^2) v_b + (s^3 - s^2) h m_b
    ///   dp/dt = [(6s^2 - 6s) v_a + (3s^2 - 4s + 1) h m_a + (-6s^2 + 6s) v_b + (3s^2 - 2s) h m_b] / h
    /// with m_a = out-tangent of a and m_b = in-tangent of b (value units per second).
    public mutating func sample(at time: Double) -> CurveSample {
        let keys = curve.keys
        let first = keys[0]
        let last = keys[keys.count - 1]
        if keys.count == 1 || time < first.time { return CurveSample(value: first.value, inSlope: 0, outSlope: 0) }
        if time > last.time { return CurveSample(value: last.value, inSlope: 0, outSlope: 0) }
        while segment + 1 < keys.count - 1 && keys[segment + 1].time <= time { segment += 1 }
        let a = keys[segment]
        let b = keys[segment + 1]
        if time == a.time || time == b.time {
            let index = time == a.time ? segment : segment + 1
            let key = keys[index]
            return CurveSample(
                value: key.value, inSlope: index == 0 ? 0 : keySlope(index, before: true),
                outSlope: index == keys.count - 1 ? 0 : keySlope(index, before: false))
        }
        let span = b.time - a.time
        let s = (time - a.time) / span
        switch interpolation {
        case .step:
            return CurveSample(value: a.value, inSlope: 0, outSlope: 0)
        case .linear:
            let slope = (b.value - a.value) / span
            return CurveSample(value: a.value + (b.value - a.value) * s, inSlope: slope, outSlope: slope)
        case .cubic:
            let s2 = s * s
            let s3 = s2 * s
            let value = (2 * s3 - 3 * s2 + 1) * a.value + (s3 - 2 * s2 + s) * span * a.outTangent
                + (-2 * s3 + 3 * s2) * b.value + (s3 - s2) * span * b.inTangent
            let slope = ((6 * s2 - 6 * s) * a.value + (3 * s2 - 4 * s + 1) * span * a.outTangent
                + (-6 * s2 + 6 * s) * b.value + (3 * s2 - 2 * s) * span * b.inTangent) / span
            return CurveSample(value: value, inSlope: slope, outSlope: slope)
        }
    }

    /// The slope at key `index` on the side before or after it (the index has a neighbour there).
    private func keySlope(_ index: Int, before: Bool) -> Double {
        let keys = curve.keys
        switch interpolation {
        case .step:
            return 0
        case .linear:
            let (a, b) = before ? (keys[index - 1], keys[index]) : (keys[index], keys[index + 1])
            return (b.value - a.value) / (b.time - a.time)
        case .cubic:
            return before ? keys[index].inTangent : keys[index].outTangent
        }
    }
}
