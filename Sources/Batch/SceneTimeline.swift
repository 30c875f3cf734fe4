import Common
import Foundation
import XMLIO

/// The lines of one cinematic scene placed at their start times. Lines with a `start` form
/// one timeline per (language, scene); a line without a scene belongs to the scene named
/// after the script. Written as `timelines/[<language>/]<scene>.xml` (schema:
/// `scene-timeline.xsd` beside this file) plus whatever the baker renders for it (one glTF
/// with every line placed on it).
public struct SceneTimeline: Sendable {
    public struct Clip: Sendable {
        public var job: BakeJob
        public var start: Double
        public var record: LineRecord
        public var end: Double { start + record.duration }
    }

    /// A line that belongs to the scene but failed, listed so that a gap is explained.
    public struct Missing: Sendable {
        public var id: String
        public var character: String
        public var start: Double
        public var message: String
    }

    public var scene: String
    public var language: String?
    /// Relative to the output folder, without extension.
    public var outputBase: String
    /// Sorted by start, then script order.
    public var clips: [Clip]
    public var missing: [Missing]

    /// The end of the last clip, in seconds.
    public var duration: Double { clips.map(\.end).max() ?? 0 }

    /// Characters in order of their first clip.
    public var characters: [String] {
        var seen: [String] = []
        for clip in clips where !seen.contains(clip.job.line.character) { seen.append(clip.job.line.character) }
        return seen
    }

    /// The key that groups lines into scenes (and keeps a scene in one shard).
    static func groupKey(language: String?, scene: String) -> String { "\(language ?? "")/\(scene)" }

    /// The timeline's XML. Times are seconds with 3 decimals, mixtures with 4.
    public func xmlData(generator: String) throws -> Data {
        let writer = try XMLWriter()
        writer.startElement("sceneTimeline")
        writer.attribute("scene", scene)
        if let language { writer.attribute("language", language) }
        writer.attribute("duration", DecimalFormat.fixed(duration, 3))
        writer.attribute("generator", generator)
        for character in characters {
            writer.startElement("character")
            writer.attribute("name", character)
            for clip in clips where clip.job.line.character == character {
                writer.startElement("clip")
                writer.attribute("id", clip.job.line.id)
                writer.attribute("start", DecimalFormat.fixed(clip.start, 3))
                writer.attribute("end", DecimalFormat.fixed(clip.end, 3))
                writer.attribute("dominantEmotion", clip.record.dominantEmotion)
                writer.attribute("output", clip.job.outputBase)
                if let text = clip.job.line.text { writer.element("text", text: text) }
                let track = clip.record.track
                writer.element("emotions", text: track.emotions.joined(separator: " "))
                for frame in 0..<track.frameCount {
                    let mixture = track.mixture(frame: frame).map { DecimalFormat.fixed($0, 4) }.joined(separator: " ")
                    writer.element(
                        "frame", attributes: ["time": DecimalFormat.fixed(clip.start + track.times[frame], 3), "mixture": mixture])
                }
                writer.endElement()
            }
            writer.endElement()
        }
        for line in missing {
            writer.element(
                "missing",
                attributes: [
                    "id": line.id, "character": line.character, "start": DecimalFormat.fixed(line.start, 3), "reason": line.message,
                ])
        }
        writer.endElement()
        return try writer.finish()
    }
}
