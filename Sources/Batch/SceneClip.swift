import Curves
import EmotionCore
import Foundation

/// One clip holding a whole scene, for the scene's glTF: every line's curves placed at its
/// start, channels named `<character>.<blendshape>` so that each character keeps its own
/// weights on one time axis.
///
/// Starts are snapped to the nearest output frame (key times must lie on frames; the XML
/// timeline keeps exact starts). Between lines a character's weights return to rest (0) one
/// frame after its line ends and leave rest one frame before its next line; a line that
/// starts before the character's previous line ends cuts it off there.
enum SceneClip {
    static func combine(
        _ clips: [(character: String, start: Double, clip: AnimationClip)], name: String, frameRate: FrameRate, generator: String
    ) throws -> AnimationClip {
        guard let first = clips.first else { throw BatchError("timeline.empty", "scene \(name) has no baked lines") }
        let fps = frameRate.framesPerSecond
        func frame(_ seconds: Double) -> Int { Int((seconds * fps).rounded()) }
        var characters: [String] = []
        for entry in clips where !characters.contains(entry.character) { characters.append(entry.character) }
        var curves: [BlendshapeCurve] = []
        var lastFrame = 0
        for character in characters {
            let own = clips.filter { $0.character == character }.sorted { $0.start < $1.start }
            for channel in own[0].clip.channelNames {
                // (frame, key) pairs; times are set from frames at the end.
                var keys: [(Int, Keyframe)] = []
                for entry in own {
                    let startFrame = frame(entry.start)
                    guard let curve = entry.clip.curves.first(where: { $0.name == channel }), !curve.keys.isEmpty else { continue }
                    keys.removeAll { $0.0 >= startFrame }
                    if let last = keys.last, last.1.value != 0, last.0 + 1 < startFrame {
                        keys.append((last.0 + 1, Keyframe(time: 0, value: 0)))
                    }
                    let firstFrame = startFrame + frame(curve.keys[0].time)
                    if curve.keys[0].value != 0, firstFrame - 1 > (keys.last?.0 ?? -1) {
                        if keys.isEmpty && firstFrame - 1 > 0 { keys.append((0, Keyframe(time: 0, value: 0))) }
                        keys.append((firstFrame - 1, Keyframe(time: 0, value: 0)))
                    }
                    for key in curve.keys { keys.append((startFrame + frame(key.time), key)) }
                }
                if let last = keys.last, last.1.value != 0 { keys.append((last.0 + 1, Keyframe(time: 0, value: 0))) }
                if keys.isEmpty { keys = [(0, Keyframe(time: 0, value: 0))] }
                // Two keys on one frame (a line ending where the next starts): keep the later.
                var unique: [(Int, Keyframe)] = []
                for key in keys {
                    if let last = unique.last, last.0 == key.0 { unique[unique.count - 1] = key } else { unique.append(key) }
                }
                lastFrame = max(lastFrame, unique.last!.0)
                curves.append(
                    BlendshapeCurve(
                        name: "\(character).\(channel)",
                        keys: unique.map { Keyframe(time: frameRate.time(ofFrame: $0.0), value: $0.1.value, inTangent: $0.1.inTangent, outTangent: $0.1.outTangent) }))
            }
        }
        // The scene's emotion over time: each line's frames placed at its start, in order.
        let emotions = first.clip.emotions.emotions
        var times: [Double] = []
        var alpha: [Double] = []
        for entry in clips.sorted(by: { $0.start < $1.start }) where entry.clip.emotions.emotions == emotions {
            let track = entry.clip.emotions
            for index in 0..<track.frameCount {
                let time = frameRate.time(ofFrame: frame(entry.start)) + track.times[index]
                if let last = times.last, time <= last { continue }
                times.append(time)
                alpha.append(contentsOf: track.alpha(frame: index))
            }
        }
        let rigs = characters.map { character in clips.first { $0.character == character }!.clip.metadata.rig }
        let smoothings = characters.map { character in clips.first { $0.character == character }!.clip.metadata.smoothing }
        let metadata = ClipMetadata(
            source: name, model: first.clip.metadata.model, rig: rigs.joined(separator: ","), smoothing: smoothings.joined(separator: ","),
            settings: [("scene", name), ("lines", String(clips.count)), ("characters", characters.joined(separator: ","))],
            generator: generator)
        return AnimationClip(
            name: name, frameRate: frameRate, duration: frameRate.time(ofFrame: lastFrame), interpolation: first.clip.interpolation,
            curves: curves, emotions: EmotionTrack(emotions: emotions, times: times, alpha: alpha, source: name, model: first.clip.metadata.model),
            metadata: metadata)
    }
}
