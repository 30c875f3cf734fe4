import EmotionCore

/// How a track's emotion name finds its mapping in a rig preset.
///
/// Tried in order, the first the rig lists wins: the name itself; its canonical spelling
/// (`EmotionVocabulary`, so "fearful" finds "fear" and "joy" finds "happy" even in a track
/// built in code); then, for canonical emotions a rig may not list, the nearest one it
/// does (`fallbacks`: "grief" shows as "sad" on a rig without a grief mapping). A rig that
/// maps "grief" itself (`audio2face`) keeps it apart from "sad".
public enum EmotionAliases {
    /// Canonical emotion -> the emotion used when the rig has no mapping of its own.
    public static let fallbacks: [(name: String, mapsTo: String)] = [("grief", "sad")]

    /// Names to try for `emotion` after the name itself, in order.
    static func candidates(for emotion: String) -> [String] {
        var result: [String] = []
        let canonical = EmotionVocabulary.canonicalName(emotion)
        if let canonical, canonical != emotion { result.append(canonical) }
        if let fallback = fallbacks.first(where: { $0.name == (canonical ?? emotion) })?.mapsTo { result.append(fallback) }
        return result
    }
}
