import Curves
import ExportKit

/// Puts every curve of a clip on one shared time axis, the way a glTF `weights` channel
/// needs it.
enum WeightsSampling {
    struct Sampled {
        /// Keyframe times in seconds (float32, strictly increasing).
        var times: [Float]
        /// LINEAR/STEP: times.count x slots values. CUBICSPLINE: for each time, slots
        /// in-tangents, slots values, slots out-tangents (glTF 2.0 spec, Appendix C).
        var outputs: [Float]
    }

    /// The shared axis: the union of all key times plus 0 and the clip duration, so that the
    /// animation spans exactly the clip.
    static func timeAxis(_ clip: AnimationClip) -> [Double] {
        var times = Set(clip.curves.flatMap { $0.keys.map(\.time) })
        times.insert(0)
        times.insert(clip.duration)
        return times.sorted()
    }

    /// Samples the clip for `slots.count` morph targets: slot j takes curve `slots[j]` or
    /// stays 0 when nil.
    ///
    /// A curve is evaluated exactly at every axis time. Between two axis times, linear and
    /// step curves are still one straight or flat piece, so the result is exact. A cubic
    /// Hermite segment cut at an inner time u stays the same cubic when each piece gets the
    /// value p(u) and the derivative p'(u) (per second) at u: a cubic is fixed by the values
    /// and derivatives at its ends, and glTF evaluates
    ///   p(t) = (2s^3-3s^2+1) v_k + td (s^3-2s^2+s) b_k + (-2s^3+3s^2) v_k+1 + td (s^3-s^2) a_k+1
    /// with td = t_k+1 - t_k, so tangents are stored as per-second slopes, unscaled.
    static func sample(_ clip: AnimationClip, slots: [Int?]) throws -> Sampled {
        let axis = timeAxis(clip)
        let times = axis.map { Float($0) }
        for index in times.indices.dropFirst() where times[index] <= times[index - 1] {
            throw ExportError(
                "gltf.timePrecision",
                "clip \"\(clip.name)\": key times \(axis[index - 1]) and \(axis[index]) s are the same in float32; glTF cannot hold them apart")
        }
        var cursors = slots.map { slot in slot.map { CurveCursor(clip.curves[$0], interpolation: clip.interpolation) } }
        let width = slots.count
        let cubic = clip.interpolation == .cubic
        var outputs = [Float](repeating: 0, count: axis.count * width * (cubic ? 3 : 1))
        for (row, time) in axis.enumerated() {
            for slot in 0..<width {
                guard cursors[slot] != nil else { continue }
                let sample = cursors[slot]!.sample(at: time)
                if cubic {
                    let base = row * 3 * width
                    outputs[base + slot] = Float(sample.inSlope)
                    outputs[base + width + slot] = Float(sample.value)
                    outputs[base + 2 * width + slot] = Float(sample.outSlope)
                } else {
                    outputs[row * width + slot] = Float(sample.value)
                }
            }
        }
        if cubic && !axis.isEmpty {
            // The spec says the first in-tangent and the last out-tangent should be zero.
            for slot in 0..<width {
                outputs[slot] = 0
                outputs[(axis.count - 1) * 3 * width + 2 * width + slot] = 0
            }
        }
        return Sampled(times: times, outputs: outputs)
    }
}
