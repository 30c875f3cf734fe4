import Common
import EmotionCore
import Foundation
import JSONIO

/// A character rig: its blendshape channels, in rig order, and for every emotion the
/// weighted blendshapes that express it.
///
/// Mapping (per frame, per blendshape b):
///
///     weight_b = clamp01(intensity * sum_e mixture_e * w[e][b])
///
/// where `mixture` is the post-processed emotion mixture and `w[e][b]` in [0, 1] the preset's
/// weight. An emotion the preset does not list maps to nothing only if it is `neutral`;
/// any other unmapped emotion is an error (see `mappingEmotion(for:)` for name aliases).
///
/// Shipped presets live in `Presets/rigs/<name>.json`; a user's file works the same way.
public struct RigPreset: Sendable, Equatable {
    /// One weighted blendshape of an emotion.
    public struct Weight: Sendable, Equatable {
        public var blendshape: String
        /// In [0, 1].
        public var weight: Double
        /// Where this weight comes from, for example "AU12 lip corner puller, C".
        public var from: String?

        public init(blendshape: String, weight: Double, from: String? = nil) {
            self.blendshape = blendshape
            self.weight = weight
            self.from = from
        }
    }

    /// How one emotion is expressed on this rig.
    public struct EmotionMapping: Sendable, Equatable {
        public var emotion: String
        /// The grounding of these weights (EMFACS prototype, references, choices made).
        public var basis: String
        public var weights: [Weight]

        public init(emotion: String, basis: String, weights: [Weight]) {
            self.emotion = emotion
            self.basis = basis
            self.weights = weights
        }
    }

    /// The rig shipped as the default for `emobake convert`.
    public static let defaultName = "arkit52"

    public var name: String
    public var description: String
    /// Output channel names, in rig order.
    public var blendshapes: [String]
    /// Emotion mappings in file order.
    public var mappings: [EmotionMapping]
    /// The file this preset was read from, if any.
    public var file: String?

    /// A rig built in code; checked like a file (names unique, targets known, weights in [0, 1]).
    public init(
        name: String, blendshapes: [String], mappings: [EmotionMapping], description: String = "", file: String? = nil
    ) throws {
        self.name = name
        self.description = description
        self.blendshapes = blendshapes
        self.mappings = mappings
        self.file = file
        try validate()
    }

    /// Loads `Presets/rigs/<name>.json`, or a file if `nameOrPath` contains `/` or ends in `.json`.
    public static func load(_ nameOrPath: String, presetsDirectory: URL) throws -> RigPreset {
        let url = try PresetFiles.resolve(nameOrPath, .rig, presetsDirectory: presetsDirectory)
        return try PresetFiles.parse(url, .rig) { try RigPreset(json: $0, file: url.path) }
    }

    /// The names of the shipped rig presets, sorted.
    public static func availableNames(presetsDirectory: URL) throws -> [String] {
        try PresetFiles.names(.rig, presetsDirectory: presetsDirectory)
    }

    /// The mapping of an emotion name as the preset spells it, nil if absent.
    public func mapping(for emotion: String) -> EmotionMapping? {
        mappings.first { $0.emotion == emotion }
    }

    /// The preset emotion that a track emotion maps through: the same name if the preset has
    /// it, otherwise its canonical spelling or fallback (`EmotionAliases`), otherwise nil.
    public func mappingEmotion(for trackEmotion: String) -> String? {
        if mapping(for: trackEmotion) != nil { return trackEmotion }
        for candidate in EmotionAliases.candidates(for: trackEmotion) where mapping(for: candidate) != nil {
            return candidate
        }
        return nil
    }

    /// Text for `emobake presets show NAME`.
    public func describe() -> String {
        var lines: [String] = []
        lines.append("rig \(name)" + (description.isEmpty ? "" : ": \(description)"))
        if let file { lines.append("file: \(file)") }
        lines.append("\(blendshapes.count) blendshapes (rig order):")
        lines.append(contentsOf: wrapped(blendshapes, indent: "  "))
        lines.append("emotions (weight per blendshape before intensity; blendshape = clamp01(intensity * sum mixture * weight)):")
        for mapping in mappings {
            let list = mapping.weights.isEmpty
                ? "nothing"
                : mapping.weights.map { "\($0.blendshape) \(DecimalFormat.fixed($0.weight, 3))" }.joined(separator: ", ")
            lines.append("  \(mapping.emotion): \(list)")
            if !mapping.basis.isEmpty { lines.append("    basis: \(mapping.basis)") }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    // MARK: - Checks

    func validate() throws {
        let place = file ?? "rig \"\(name)\""
        func fail(_ code: String, _ problem: String) -> CurvesError { CurvesError("rig.\(code)", "\(place): \(problem)") }
        guard !name.isEmpty else { throw fail("field", "name: must not be empty") }
        guard !blendshapes.isEmpty else { throw fail("field", "blendshapes: must list at least one blendshape") }
        var seen = Set<String>()
        for (index, blendshape) in blendshapes.enumerated() {
            guard !blendshape.isEmpty else { throw fail("field", "blendshapes[\(index)]: must not be empty") }
            guard seen.insert(blendshape).inserted else {
                throw fail("duplicate", "blendshapes[\(index)]: duplicate blendshape \"\(blendshape)\"")
            }
        }
        var emotions = Set<String>()
        for (index, mapping) in mappings.enumerated() {
            let at = "emotions[\(index)]"
            guard !mapping.emotion.isEmpty else { throw fail("field", "\(at).emotion: must not be empty") }
            guard emotions.insert(mapping.emotion).inserted else {
                throw fail("duplicate", "\(at).emotion: duplicate emotion \"\(mapping.emotion)\"")
            }
            var targets = Set<String>()
            for (weightIndex, weight) in mapping.weights.enumerated() {
                let field = "\(at).weights[\(weightIndex)]"
                guard seen.contains(weight.blendshape) else {
                    throw fail(
                        "unknownBlendshape",
                        "\(field).blendshape: \"\(weight.blendshape)\" (emotion \(mapping.emotion)) is not one of the rig's blendshapes")
                }
                guard targets.insert(weight.blendshape).inserted else {
                    throw fail("duplicate", "\(field).blendshape: \"\(weight.blendshape)\" is listed twice for emotion \(mapping.emotion)")
                }
                guard weight.weight.isFinite, weight.weight >= 0, weight.weight <= 1 else {
                    throw fail("weightRange", "\(field).weight: \(weight.weight) is outside 0...1")
                }
            }
        }
    }

    private func wrapped(_ names: [String], indent: String) -> [String] {
        var lines: [String] = []
        var line = indent
        for name in names {
            if line.count + name.count + 2 > 100, line != indent {
                lines.append(line + ",")
                line = indent
            }
            line += (line == indent ? "" : ", ") + name
        }
        if line != indent { lines.append(line) }
        return lines
    }
}

extension RigPreset {
    /// Reads the rig preset file format:
    ///
    ///     { "name": "...", "description": "...", "references": ["..."],
    ///       "blendshapes": ["...", ...],
    ///       "emotions": [ { "emotion": "happy", "basis": "...",
    ///                       "weights": [ { "blendshape": "...", "weight": 0.6, "from": "..." } ] } ] }
    ///
    /// Lists are arrays (not objects) so that duplicate names can be found and reported.
    init(json root: JSONField, file: String) throws {
        try root.requireOnlyKeys(["format", "version", "name", "description", "references", "notes", "blendshapes", "emotions"])
        if let format = try root.optional("format"), try format.string() != "emobake-rig" {
            throw format.fail("expected \"emobake-rig\"")
        }
        if let version = try root.optional("version"), try version.int() != 1 {
            throw version.fail("unsupported version (this EmoBake reads version 1)")
        }
        let name = try root.required("name").name()
        let description = try root.optional("description")?.string() ?? ""
        _ = try root.optional("references")?.strings()
        _ = try root.optional("notes")?.string()
        let blendshapeFields = try root.required("blendshapes").array()
        var blendshapes: [String] = []
        var known = Set<String>()
        for field in blendshapeFields {
            let blendshape = try field.name()
            guard known.insert(blendshape).inserted else { throw field.fail("duplicate blendshape \"\(blendshape)\"", code: "rig.duplicate") }
            blendshapes.append(blendshape)
        }
        guard !blendshapes.isEmpty else { throw try root.required("blendshapes").fail("must list at least one blendshape") }
        var mappings: [EmotionMapping] = []
        var emotions = Set<String>()
        for entry in try root.required("emotions").array() {
            try entry.requireOnlyKeys(["emotion", "basis", "weights"])
            let emotionField = try entry.required("emotion")
            let emotion = try emotionField.name()
            guard emotions.insert(emotion).inserted else {
                throw emotionField.fail("duplicate emotion \"\(emotion)\"", code: "rig.duplicate")
            }
            let basis = try entry.optional("basis")?.string() ?? ""
            var weights: [Weight] = []
            var targets = Set<String>()
            for weightEntry in try entry.required("weights").array() {
                try weightEntry.requireOnlyKeys(["blendshape", "weight", "from"])
                let targetField = try weightEntry.required("blendshape")
                let target = try targetField.name()
                guard known.contains(target) else {
                    throw targetField.fail(
                        "\"\(target)\" (emotion \(emotion)) is not one of the rig's blendshapes", code: "rig.unknownBlendshape")
                }
                guard targets.insert(target).inserted else {
                    throw targetField.fail("\"\(target)\" is listed twice for emotion \(emotion)", code: "rig.duplicate")
                }
                let weightField = try weightEntry.required("weight")
                guard let number = weightField.value.doubleValue else {
                    throw weightField.fail("expected a number, found \(weightField.value.kindName)")
                }
                guard number.isFinite, number >= 0, number <= 1 else {
                    throw weightField.fail("\(number) is outside 0...1 (weights must be finite, from 0 to 1)", code: "rig.weightRange")
                }
                weights.append(Weight(blendshape: target, weight: number, from: try weightEntry.optional("from")?.string()))
            }
            mappings.append(EmotionMapping(emotion: emotion, basis: basis, weights: weights))
        }
        try self.init(name: name, blendshapes: blendshapes, mappings: mappings, description: description, file: file)
    }
}
