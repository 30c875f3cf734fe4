import EmotionCore

/// How values between two keys are found.
public enum Interpolation: String, Sendable, CaseIterable {
    /// Straight line between keys.
    case linear
    /// Hold the key's value until the next key.
    case step
    /// Cubic Hermite between keys, using each key's in and out tangents.
    case cubic
}

/// One key of a curve. Tangents are slopes in value units per second (Hermite form), the
/// convention of glTF CUBICSPLINE; they are ignored by linear and step interpolation.
public struct Keyframe: Sendable, Equatable {
    public var time: Double
    public var value: Double
    public var inTangent: Double
    public var outTangent: Double

    public init(time: Double, value: Double, inTangent: Double = 0, outTangent: Double = 0) {
        self.time = time
        self.value = value
        self.inTangent = inTangent
        self.outTangent = outTangent
    }
}

/// The animation of one blendshape: weights in [0, 1] at key times (seconds, increasing).
public struct BlendshapeCurve: Sendable, Equatable {
    public var name: String
    public var keys: [Keyframe]

    public init(name: String, keys: [Keyframe]) {
        self.name = name
        self.keys = keys
    }

    /// The curve's value at `time` under `interpolation`; before the first key the first
    /// value holds, after the last key the last value holds.
    public func value(at time: Double, interpolation: Interpolation) -> Double {
        guard let first = keys.first else { return 0 }
        if time <= first.time { return first.value }
        let last = keys[keys.count - 1]
        if time >= last.time { return last.value }
        // Binary search for the segment [keys[low], keys[low + 1]] holding `time`.
        var low = 0
        var high = keys.count - 1
        while high - low > 1 {
            let middle = (low + high) / 2
            if keys[middle].time <= time { low = middle } else { high = middle }
        }
        let a = keys[low]
        let b = keys[low + 1]
        let span = b.time - a.time
        let s = (time - a.time) / span
        switch interpolation {
        case .step:
            return a.value
        case .linear:
            return a.value + (b.value - a.value) * s
        case .cubic:
            let s2 = s * s
            let s3 = s2 * s
            return (2 * s3 - 3 * s2 + 1) * a.value + (s3 - 2 * s2 + s) * span * a.outTangent
                + (-2 * s3 + 3 * s2) * b.value + (s3 - s2) * span * b.inTangent
        }
    }
}

/// Provenance of a clip, written into the formats that can hold it (XML timeline, glTF
/// extras, FBX properties).
public struct ClipMetadata: Sendable, Equatable {
    /// The input the clip was made from (track or audio file name, not a full path).
    public var source: String
    /// The model that predicted the emotions, if known.
    public var model: String?
    public var rig: String
    public var smoothing: String
    /// Every setting that shaped the clip, in a fixed order, as text.
    public var settings: [(key: String, value: String)]
    /// "EmoBake <version>".
    public var generator: String

    public init(
        source: String, model: String? = nil, rig: String, smoothing: String,
        settings: [(key: String, value: String)] = [], generator: String = "EmoBake"
    ) {
        self.source = source
        self.model = model
        self.rig = rig
        self.smoothing = smoothing
        self.settings = settings
        self.generator = generator
    }

    public static func == (lhs: ClipMetadata, rhs: ClipMetadata) -> Bool {
        lhs.source == rhs.source && lhs.model == rhs.model && lhs.rig == rhs.rig && lhs.smoothing == rhs.smoothing
            && lhs.generator == rhs.generator && lhs.settings.map(\.key) == rhs.settings.map(\.key)
            && lhs.settings.map(\.value) == rhs.settings.map(\.value)
    }
}

/// Named blendshape curves ready for export: the output of mapping, smoothing, resampling
/// and key reduction.
public struct AnimationClip: Sendable, Equatable {
    public var name: String
    public var frameRate: FrameRate
    /// Seconds; the time of the last output frame.
    public var duration: Double
    public var interpolation: Interpolation
    /// One curve per blendshape of the rig, in the rig's order. Each curve has at least one
    /// key; key times lie on output frames (n / fps) within [0, duration].
    public var curves: [BlendshapeCurve]
    /// The post-processed emotion mixture the curves were made from, sampled on output frames
    /// (the XML timeline stores it).
    public var emotions: EmotionTrack
    public var metadata: ClipMetadata

    public init(
        name: String, frameRate: FrameRate, duration: Double, interpolation: Interpolation,
        curves: [BlendshapeCurve], emotions: EmotionTrack, metadata: ClipMetadata
    ) {
        self.name = name
        self.frameRate = frameRate
        self.duration = duration
        self.interpolation = interpolation
        self.curves = curves
        self.emotions = emotions
        self.metadata = metadata
    }

    /// The blendshape names in rig order.
    public var channelNames: [String] { curves.map(\.name) }

    /// The sorted union of every curve's key times (formats such as glTF need one shared
    /// time axis for all weights).
    public var unionKeyTimes: [Double] {
        Array(Set(curves.flatMap { $0.keys.map(\.time) })).sorted()
    }
}
