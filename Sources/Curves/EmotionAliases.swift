/// Other spellings of the emotions rig presets map, as emitted by common datasets and tools
/// (RAVDESS "fearful"/"surprised", emotion2vec "disgusted", Audio2Face "joy"/"anger"/...).
///
/// A track emotion is looked up in a rig under its own name first; only if the rig does not
/// list it is the alias tried. So a rig that maps "grief" itself (the `audio2face` rig) keeps
/// it apart from "sad", while `arkit52` shows grief as sadness.
public enum EmotionAliases {
    /// Track emotion -> the rig emotion used when the rig has no mapping of its own.
    public static let table: [(name: String, mapsTo: String)] = [
        ("fearful", "fear"), ("afraid", "fear"),
        ("surprised", "surprise"), ("amazement", "surprise"),
        ("disgusted", "disgust"),
        ("happiness", "happy"), ("joy", "happy"),
        ("sadness", "sad"), ("grief", "sad"),
        ("anger", "angry"),
        ("calmness", "calm"),
    ]

    /// Names to try for `emotion`, in order: its lowercase spelling, then its alias.
    static func candidates(for emotion: String) -> [String] {
        var result: [String] = []
        let lower = emotion.lowercased()
        if lower != emotion { result.append(lower) }
        if let alias = table.first(where: { $0.name == lower })?.mapsTo { result.append(alias) }
        return result
    }
}
