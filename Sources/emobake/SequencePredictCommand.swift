import ArgumentParser
import Common
import Neural
import EmotionCore
import Foundation
import JSONIO
import Recognition

/// `emobake predict --mode sequence`: the sequence model over the whole clip, in seamless
/// chunks (the file is decoded twice, block by block: memory stays flat whatever its length).
extension PredictCommand {
    /// - directory: the sequence model's folder, as `ListeningMode.resolve` found it.
    func runSequence(_ directory: URL) throws {
        do {
            RuntimeThreads.configure(jobs)
            let model = try SequenceModel.load(directory: directory)
            let audioURL = URL(fileURLWithPath: audio)
            let track = try SequencePredictor().predict(url: audioURL, model: model, source: audioURL.lastPathComponent)
            try track.write(to: URL(fileURLWithPath: output))
            let seconds = track.duration + 0.5 / model.configuration.frameRate
            if json {
                let summary: JSONValue = .object(
                    JSONObject([
                        ("output", .string(output)), ("frames", .integer(Int64(track.frameCount))),
                        ("emotions", .array(track.emotions.map { .string($0) })), ("seconds", .decimal(seconds, places: 3)),
                        ("model", .string(model.identifier)), ("mode", "sequence"),
                        ("dominant", track.dominantEmotion.map { .string($0) } ?? .null),
                    ]))
                print(try JSONCodec.serialize(summary, style: .compact), terminator: "")
            } else if !quiet {
                print(
                    "\(output): \(track.frameCount) frames (\(DecimalFormat.fixed(model.configuration.frameRate, 0)) per second), \(track.emotionCount) emotions, mostly \(track.dominantEmotion ?? "-") (\(model.identifier), sequence model)")
            }
        } catch {
            printError(oneLineMessage(error))
            throw ExitCode(1)
        }
    }
}
