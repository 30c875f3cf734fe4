import ArgumentParser
import EmotionCore
import Foundation
import Training

/// The labelled-audio options of the Stage 1 training commands (`train classifier`,
/// `train head`): where the clips are, which speakers validate, and the emotions in output order.
struct LabelledDataOptions: ParsableArguments {
    @Option(name: .long, help: "Labelled audio: a RAVDESS folder, a CSV of path,label, or a folder with labels.csv.")
    var data: String

    @Option(name: .long, help: "Speakers kept for validation, e.g. 17-20 or 3,7,11 (RAVDESS actors).")
    var validationSpeakers: String = "17-20"

    @Option(name: .long, help: "Emotions, comma-separated, in output order.")
    var emotions: String = EmotionVocabulary.basicSeven.joined(separator: ",")

    /// The emotion names, in output order.
    var emotionList: [String] {
        emotions.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    }

    func validate() throws {
        let names = emotionList
        guard names.count >= 2, Set(names).count == names.count else {
            throw ValidationError("--emotions needs at least two distinct names")
        }
        for name in names where EmotionVocabulary.canonicalName(name) != name {
            throw ValidationError("--emotions: \(name) is not a canonical emotion name (\(EmotionVocabulary.canonical.joined(separator: ", ")))")
        }
    }

    /// The clips, split by speaker; fails when no clip is left to train on.
    func load() throws -> (train: [LabelledClip], validation: [LabelledClip]) {
        let clips = try ClipCatalogue.load(URL(fileURLWithPath: data), emotions: emotionList)
        let split = ClipCatalogue.split(clips, validationSpeakers: try ClipCatalogue.parseSpeakers(validationSpeakers))
        guard !split.train.isEmpty else {
            throw TrainingError("data.noTraining", "\(data): every clip is a validation clip; check --validation-speakers")
        }
        return split
    }
}
