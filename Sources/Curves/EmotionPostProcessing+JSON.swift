import JSONIO

extension EmotionPostProcessing {
    /// The field names of the JSON form, in documentation order.
    public static let jsonKeys = [
        "confidenceWeighting", "contrast", "maxEmotions", "blendWithPrevious", "transitionSmoothing", "preferredEmotion",
        "preferredStrength", "strength", "gains",
    ]

    /// Reads settings from a JSON object such as
    /// `{"contrast": 1.5, "maxEmotions": 3, "strength": 0.8, "gains": {"angry": 0.5}}`
    /// (for a project file or a settings file). Missing fields keep `base`'s values; unknown
    /// fields and out-of-range values are errors naming the file and field.
    public init(json field: JSONField, base: EmotionPostProcessing = EmotionPostProcessing()) throws {
        self = base
        try field.requireOnlyKeys(Self.jsonKeys)
        if let value = try field.optional("confidenceWeighting") { confidenceWeighting = try value.double() }
        if let value = try field.optional("contrast") { contrast = try value.double() }
        if let value = try field.optional("maxEmotions") { maxEmotions = try value.int() }
        if let value = try field.optional("blendWithPrevious") { blendWithPrevious = try value.double() }
        if let value = try field.optional("transitionSmoothing") { transitionSmoothing = try value.double() }
        if let value = try field.optional("preferredEmotion") { preferredEmotion = try value.name() }
        if let value = try field.optional("preferredStrength") { preferredStrength = try value.double() }
        if let value = try field.optional("strength") { strength = try value.double() }
        if let value = try field.optional("gains") {
            var gains = base.gains
            for (emotion, gain) in try value.object() { gains[emotion] = try gain.double() }
            self.gains = gains
        }
        do {
            try validate()
        } catch let error as CurvesError {
            // Point at the file; the message already names the setting.
            throw CurvesError(error.code, "\(field.source)\(field.path.isEmpty ? "" : ": \(field.path)"): \(error.message)")
        }
    }
}
