import Common

/// Everything that shapes a clip, from emotion track to keyed blendshape curves.
public struct ConversionSettings: Sendable {
    public var rig: RigPreset
    public var smoothing: SmoothingPreset
    /// Identity by default.
    public var postProcessing: EmotionPostProcessing
    /// Output frame rate; 30 by default.
    public var frameRate: FrameRate
    /// Linear by default.
    public var interpolation: Interpolation
    /// Largest allowed deviation of the keyed curve from the dense curve at any output frame,
    /// in weight units (0...1); 0.002 by default. 0 keeps every frame that is not exactly
    /// reproduced.
    public var keyTolerance: Double
    /// Per-character scale of every blendshape weight before clamping to [0, 1]; 1 by default.
    public var intensity: Double
    /// Written into the clip's metadata ("EmoBake 0.1.0"); the command line sets its version.
    public var generator: String

    public static let defaultKeyTolerance = 0.002

    public init(rig: RigPreset, smoothing: SmoothingPreset) {
        self.rig = rig
        self.smoothing = smoothing
        self.postProcessing = EmotionPostProcessing()
        self.frameRate = FrameRate(numerator: 30)
        self.interpolation = .linear
        self.keyTolerance = Self.defaultKeyTolerance
        self.intensity = 1
        self.generator = "EmoBake"
    }

    public func validate() throws {
        guard keyTolerance.isFinite, keyTolerance >= 0, keyTolerance <= 1 else {
            throw CurvesError("settings.keyTolerance", "key tolerance must be from 0 to 1 (weight units), not \(keyTolerance)")
        }
        guard intensity.isFinite, intensity >= 0, intensity <= 100 else {
            throw CurvesError("settings.intensity", "intensity must be from 0 to 100, not \(intensity)")
        }
        try postProcessing.validate()
    }

    /// A SHA-256 (hex) of everything that shapes the clip, including the rig's channels and
    /// weights and every filter parameter at full precision, not just preset names: editing a
    /// preset file changes it, so caches keyed on it (batch baking) stay correct.
    public var fingerprint: String {
        var text = "emobake-conversion-settings 1\n"
        text += "rig \(rig.name)\n"
        for blendshape in rig.blendshapes { text += "blendshape \(blendshape)\n" }
        for mapping in rig.mappings {
            text += "emotion \(mapping.emotion)\n"
            for weight in mapping.weights { text += "weight \(weight.blendshape) \(weight.weight)\n" }
        }
        text += "smoothing \(smoothing.name)\n"
        for filter in smoothing.filters { text += "filter \(filter.exactDescription)\n" }
        text += "frameRate \(frameRate.numerator)/\(frameRate.denominator)\n"
        text += "interpolation \(interpolation.rawValue)\nkeyTolerance \(keyTolerance)\nintensity \(intensity)\n"
        let post = postProcessing
        text += "post \(post.confidenceWeighting) \(post.contrast) \(post.maxEmotions.map(String.init) ?? "all") "
        text += "\(post.blendWithPrevious) \(post.transitionSmoothing) \(post.preferredEmotion ?? "-") \(post.preferredStrength) "
        text += "\(post.strength)\n"
        for (emotion, gain) in post.gains.sorted(by: { $0.key < $1.key }) { text += "gain \(emotion) \(gain)\n" }
        text += "generator \(generator)\n"
        return SHA256.hex(of: text)
    }

    /// Every setting in a fixed order, as text (it goes into `ClipMetadata.settings`).
    public var settingsSummary: [(key: String, value: String)] {
        var result: [(key: String, value: String)] = [
            ("rig", rig.name),
            ("smoothing", smoothing.name),
            ("smoothingFilters", smoothing.filterSummary),
            ("frameRate", frameRate.description),
            ("interpolation", interpolation.rawValue),
            ("keyTolerance", DecimalFormat.trimmed(keyTolerance, 6)),
            ("intensity", DecimalFormat.trimmed(intensity, 6)),
        ]
        result.append(contentsOf: postProcessing.summary)
        return result
    }
}
