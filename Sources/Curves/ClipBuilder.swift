import Common
import EmotionCore
import Foundation

/// Emotion track in, keyed blendshape curves out.
///
/// Pipeline, in this order:
/// 1. **Post-processing** on the track's own frames (`EmotionPostProcessing`).
/// 2. **Working grid.** Smoothing needs evenly spaced samples. If the track is uniform (every
///    time within 0.1% of a step from `t_0 + f h`) and denser than the output rate, the grid is
///    the track's frames, so that smoothing can remove detail before the output rate would
///    alias it; otherwise the grid is the output frames and the mixture is linearly
///    interpolated onto them first (held before the first track time).
/// 3. **Mapping** on the grid: `w_b = clamp01(intensity * sum_e mixture_e * rig[e][b])`.
/// 4. **Smoothing** (the smoothing preset's filters, in order), then clamped to [0, 1] again.
/// 5. **Resampling** to the output frames n = 0 ... N, frame n at exactly n / fps
///    (`FrameRate.time(ofFrame:)`), N the last frame at or before the track's last time;
///    linear interpolation between grid samples.
/// 6. **Key reduction** (`KeyReducer`): no output frame deviates from the dense curve by more
///    than `keyTolerance` under the chosen interpolation.
///
/// Cost is O(frames x (emotions + channels x filter taps)); buffers are allocated once per
/// clip, never per frame, and channels are processed one at a time, so memory stays at a few
/// arrays of the track's length plus the keys.
public enum ClipBuilder {
    /// Longest clip accepted, in output frames (about 11.5 days at 120 fps).
    public static let maximumFrameCount = 120_000_000

    public static func makeClip(
        from track: EmotionTrack, name: String, settings: ConversionSettings, source: String, model: String?
    ) throws -> AnimationClip {
        let plan = try Plan(track: track, settings: settings, source: source)
        var curves: [BlendshapeCurve] = []
        curves.reserveCapacity(plan.channelCount)
        plan.forEachChannel { channel, dense in
            let keys: [Keyframe]
            if let dense {
                keys = KeyReducer.reduce(
                    dense, frameRate: settings.frameRate, interpolation: settings.interpolation, tolerance: settings.keyTolerance)
            } else {
                keys = plan.constantKeys(0)
            }
            curves.append(BlendshapeCurve(name: settings.rig.blendshapes[channel], keys: keys))
        }
        let metadata = ClipMetadata(
            source: source, model: model, rig: settings.rig.name, smoothing: settings.smoothing.name,
            settings: settings.settingsSummary, generator: settings.generator)
        return AnimationClip(
            name: name, frameRate: settings.frameRate, duration: plan.duration, interpolation: settings.interpolation,
            curves: curves, emotions: plan.outputEmotions(source: source, model: model), metadata: metadata)
    }

    /// The dense curves before key reduction: one value per output frame and blendshape
    /// (`[channel][frame]`), for inspection and tests.
    public static func denseCurves(from track: EmotionTrack, settings: ConversionSettings) throws -> [[Double]] {
        let plan = try Plan(track: track, settings: settings, source: track.source ?? "track")
        var result: [[Double]] = []
        plan.forEachChannel { _, dense in
            result.append(dense.map { Array($0) } ?? [Double](repeating: 0, count: plan.outputCount))
        }
        return result
    }
}

/// Everything decided once per clip: the processed mixture, the grid, the sparse mapping.
private struct Plan {
    let settings: ConversionSettings
    let processed: ProcessedEmotions
    let outputCount: Int
    let duration: Double
    /// Per blendshape, the (emotion index, weight) pairs that drive it.
    let columns: [[(emotion: Int, weight: Double)]]
    /// True: smooth on the track's frames, then resample. False: resample first, smooth on output frames.
    let smoothOnTrackFrames: Bool
    let gridCount: Int
    let gridStep: Double
    /// Emotion-major mixture on the working grid: `gridMixture[e * gridCount + f]`.
    let gridMixture: [Double]
    /// Output frame j reads grid samples `index[j]` and `index[j] + 1` with `fraction[j]`
    /// (only when smoothing on the track's frames).
    let resampleIndex: [Int]
    let resampleFraction: [Double]

    var channelCount: Int { columns.count }

    init(track: EmotionTrack, settings: ConversionSettings, source: String) throws {
        try settings.validate()
        self.settings = settings
        var named = track
        if named.source == nil { named.source = source }
        processed = try settings.postProcessing.process(named)
        let frameRate = settings.frameRate
        let lastFrame = frameRate.lastFrame(atOrBefore: track.duration)
        guard lastFrame < ClipBuilder.maximumFrameCount else {
            throw CurvesError(
                "track.tooLong", "\(source): the track lasts \(track.duration) s, more than EmoBake converts in one clip")
        }
        outputCount = lastFrame + 1
        duration = frameRate.time(ofFrame: lastFrame)
        columns = try Self.columns(rig: settings.rig, emotions: processed.emotions, source: source)

        let times = processed.times
        let frames = times.count
        let outputStep = Double(frameRate.denominator) / Double(frameRate.numerator)
        var uniformStep: Double? = nil
        if frames >= 2 {
            let step = (times[frames - 1] - times[0]) / Double(frames - 1)
            var uniform = step > 0
            for f in 0..<frames where abs(times[f] - (times[0] + Double(f) * step)) > 1e-3 * step {
                uniform = false
                break
            }
            if uniform { uniformStep = step }
        }
        let k = processed.emotions.count
        if let step = uniformStep, step < outputStep * (1 - 1e-9) {
            smoothOnTrackFrames = true
            gridCount = frames
            gridStep = step
            var mixture = [Double](repeating: 0, count: k * frames)
            for f in 0..<frames { for e in 0..<k { mixture[e * frames + f] = processed.mixtures[f * k + e] } }
            gridMixture = mixture
            (resampleIndex, resampleFraction) = Self.interpolationTable(from: times, to: frameRate, count: outputCount)
        } else {
            smoothOnTrackFrames = false
            gridCount = outputCount
            gridStep = outputStep
            let (index, fraction) = Self.interpolationTable(from: times, to: frameRate, count: outputCount)
            var mixture = [Double](repeating: 0, count: k * outputCount)
            for e in 0..<k {
                for j in 0..<outputCount {
                    let i = index[j]
                    let a = processed.mixtures[i * k + e]
                    let b = i + 1 < frames ? processed.mixtures[(i + 1) * k + e] : a
                    mixture[e * outputCount + j] = a + (b - a) * fraction[j]
                }
            }
            gridMixture = mixture
            resampleIndex = []
            resampleFraction = []
        }
    }

    /// Resolves each processed emotion to its rig mapping and transposes to per-blendshape lists.
    private static func columns(rig: RigPreset, emotions: [String], source: String) throws -> [[(emotion: Int, weight: Double)]] {
        var index: [String: Int] = [:]
        for (i, blendshape) in rig.blendshapes.enumerated() { index[blendshape] = i }
        var columns = [[(emotion: Int, weight: Double)]](repeating: [], count: rig.blendshapes.count)
        for (e, emotion) in emotions.enumerated() {
            guard let key = rig.mappingEmotion(for: emotion), let mapping = rig.mapping(for: key) else {
                if emotion == EmotionPostProcessing.neutralEmotion { continue }
                let mapped = rig.mappings.map(\.emotion).joined(separator: ", ")
                throw CurvesError(
                    "rig.unmappedEmotion",
                    "\(rig.file ?? "rig \(rig.name)"): emotions: no mapping for emotion \"\(emotion)\" of \(source) (the rig maps: \(mapped)); add it to the rig preset")
            }
            for weight in mapping.weights where weight.weight > 0 {
                columns[index[weight.blendshape]!].append((e, weight.weight))
            }
        }
        return columns
    }

    /// For each output frame n, the track segment holding n / fps and the position in it.
    private static func interpolationTable(from times: [Double], to frameRate: FrameRate, count: Int) -> ([Int], [Double]) {
        var index = [Int](repeating: 0, count: count)
        var fraction = [Double](repeating: 0, count: count)
        let last = times.count - 1
        var i = 0
        for j in 0..<count {
            let t = frameRate.time(ofFrame: j)
            while i < last && times[i + 1] <= t { i += 1 }
            index[j] = i
            if i < last && t > times[i] {
                fraction[j] = (t - times[i]) / (times[i + 1] - times[i])
            }
        }
        return (index, fraction)
    }

    /// Keys of a constant curve: the first and last frame.
    func constantKeys(_ value: Double) -> [Keyframe] {
        outputCount == 1
            ? [Keyframe(time: 0, value: value)]
            : [Keyframe(time: 0, value: value), Keyframe(time: duration, value: value)]
    }

    /// Calls `body` with each channel's dense output curve (nil: the rig never drives it, so it
    /// is 0 throughout). The buffer is reused: copy what you keep.
    func forEachChannel(_ body: (Int, UnsafeBufferPointer<Double>?) -> Void) {
        let smoothing = SmoothingPlan(settings.smoothing.filters, sampleInterval: gridStep, count: gridCount)
        var work = [Double](repeating: 0, count: gridCount)
        var scratch = [Double](repeating: 0, count: gridCount)
        var output = [Double](repeating: 0, count: smoothOnTrackFrames ? outputCount : 0)
        let intensity = settings.intensity
        let n = gridCount
        gridMixture.withUnsafeBufferPointer { mixture in
            for channel in 0..<columns.count {
                let column = columns[channel]
                if column.isEmpty {
                    body(channel, nil)
                    continue
                }
                work.withUnsafeMutableBufferPointer { work in
                    // Mapping: w_b = clamp01(intensity * sum_e m_e w[e][b]).
                    let first = column[0]
                    let firstBase = first.emotion * n
                    for f in 0..<n { work[f] = first.weight * mixture[firstBase + f] }
                    for pair in column.dropFirst() {
                        let base = pair.emotion * n
                        let weight = pair.weight
                        for f in 0..<n { work[f] += weight * mixture[base + f] }
                    }
                    for f in 0..<n { work[f] = min(max(work[f] * intensity, 0), 1) }
                    if !smoothing.isIdentity {
                        scratch.withUnsafeMutableBufferPointer { smoothing.apply(work, scratch: $0) }
                        for f in 0..<n { work[f] = min(max(work[f], 0), 1) }
                    }
                    if smoothOnTrackFrames {
                        output.withUnsafeMutableBufferPointer { output in
                            for j in 0..<outputCount {
                                let i = resampleIndex[j]
                                let a = work[i]
                                let b = i + 1 < n ? work[i + 1] : a
                                output[j] = a + (b - a) * resampleFraction[j]
                            }
                            body(channel, UnsafeBufferPointer(output))
                        }
                    } else {
                        body(channel, UnsafeBufferPointer(work))
                    }
                }
            }
        }
    }

    /// The post-processed mixture on the output frames, as the clip's emotion track: alpha =
    /// mixture x the original concentration (both interpolated linearly; exact zeros stored as
    /// 1e-12 of the concentration, since alpha must stay positive).
    func outputEmotions(source: String, model: String?) -> EmotionTrack {
        let k = processed.emotions.count
        let frames = processed.frameCount
        let times = (0..<outputCount).map { settings.frameRate.time(ofFrame: $0) }
        var alpha = [Double](repeating: 0, count: outputCount * k)
        let index: [Int]
        let fraction: [Double]
        if smoothOnTrackFrames {
            (index, fraction) = (resampleIndex, resampleFraction)
        } else {
            (index, fraction) = Self.interpolationTable(from: processed.times, to: settings.frameRate, count: outputCount)
        }
        for j in 0..<outputCount {
            let i = index[j]
            let next = min(i + 1, frames - 1)
            let s = fraction[j]
            let c = processed.concentrations[i] + (processed.concentrations[next] - processed.concentrations[i]) * s
            for e in 0..<k {
                let a = processed.mixtures[i * k + e]
                let m = a + (processed.mixtures[next * k + e] - a) * s
                alpha[j * k + e] = max(m, 1e-12) * c
            }
        }
        return EmotionTrack(emotions: processed.emotions, times: times, alpha: alpha, source: source, model: model)
    }
}
