import Common
import Curves
import EmotionCore
import ExportKit
import Foundation
import XMLIO

/// Writes a clip as an XML timeline in EmoBake's own schema (`timeline.xsd`, beside this
/// file and shipped as a resource): provenance (source, generator, model, rig, smoothing,
/// settings), the output frame grid, the emotion mixture (one value per emotion, in the order
/// of the emotion list) and concentration per output frame, and every blendshape curve with
/// its keys (time, frame, value, tangents, interpolation).
///
/// Times, values, tangents, mixtures and concentrations have 6 decimals.
public struct XMLTimelineExporter: Exporter {
    /// The schema's namespace; the trailing number is the major version.
    public static let namespace = "urn:emobake:timeline:1"
    /// The schema version written into the root's `version` attribute.
    public static let schemaVersion = "1.0"
    public static let decimals = 6

    public init() {}

    /// The shipped `timeline.xsd`.
    public static var schemaURL: URL? { Bundle.module.url(forResource: "timeline", withExtension: "xsd") }

    public func render(_ clip: AnimationClip, baseName: String) throws -> [ExportedFile] {
        try clip.validateForExport()
        try Self.validateEmotions(clip)
        let writer = try XMLWriter()
        writer.startElement("timeline")
        writer.attribute("xmlns", Self.namespace)
        writer.attribute("version", Self.schemaVersion)
        writer.attribute("name", clip.name)

        let metadata = clip.metadata
        writer.element("source", text: metadata.source)
        writer.element("generator", text: metadata.generator)
        if let model = metadata.model { writer.element("model", text: model) }
        writer.element("rig", text: metadata.rig)
        writer.element("smoothing", text: metadata.smoothing)
        writer.startElement("settings")
        for setting in metadata.settings {
            writer.element("setting", attributes: ["key": setting.key, "value": setting.value])
        }
        writer.endElement()

        let rate = clip.frameRate
        writer.element(
            "output",
            attributes: [
                "frameRate": rate.description,
                "frameRateNumerator": String(rate.numerator), "frameRateDenominator": String(rate.denominator),
                "frameCount": String(clip.outputFrameCount), "duration": number(clip.duration),
                "interpolation": clip.interpolation.rawValue,
            ])

        writeEmotions(clip, to: writer)
        writeCurves(clip, to: writer)
        writer.endElement()
        return [ExportedFile(suffix: ".xml", data: try writer.finish())]
    }

    private func writeEmotions(_ clip: AnimationClip, to writer: XMLWriter) {
        let track = clip.emotions
        writer.startElement("emotions")
        writer.attribute("count", String(track.emotionCount))
        writer.attribute("frameCount", String(track.frameCount))
        for (index, name) in track.emotions.enumerated() {
            writer.element("emotion", attributes: ["index": String(index), "name": name])
        }
        let mixtures = track.mixtures
        let k = track.emotionCount
        var list: [UInt8] = []
        for frame in 0..<track.frameCount {
            let time = track.times[frame]
            list.removeAll(keepingCapacity: true)
            for index in 0..<k {
                if index > 0 { list.append(UInt8(ascii: " ")) }
                FixedDecimal.append(mixtures[frame * k + index], Self.decimals, to: &list)
            }
            writer.startElement("frame")
            writer.attribute("frame", String(frameNumber(time, clip.frameRate)))
            writer.attribute("time", number(time))
            writer.attribute("concentration", number(track.concentration(frame: frame)))
            writer.attribute("mixture", String(decoding: list, as: UTF8.self))
            writer.endElement()
        }
        writer.endElement()
    }

    private func writeCurves(_ clip: AnimationClip, to writer: XMLWriter) {
        let interpolation = clip.interpolation.rawValue
        writer.startElement("curves")
        writer.attribute("count", String(clip.curves.count))
        for (index, curve) in clip.curves.enumerated() {
            writer.startElement("curve")
            writer.attribute("index", String(index))
            writer.attribute("name", curve.name)
            writer.attribute("keyCount", String(curve.keys.count))
            for key in curve.keys {
                writer.element(
                    "key",
                    attributes: [
                        "time": number(key.time), "frame": String(frameNumber(key.time, clip.frameRate)),
                        "value": number(key.value), "inTangent": number(key.inTangent),
                        "outTangent": number(key.outTangent), "interpolation": interpolation,
                    ])
            }
            writer.endElement()
        }
        writer.endElement()
    }

    private func number(_ value: Double) -> String { FixedDecimal.string(value, Self.decimals) }

    /// The output frame nearest to `time`.
    private func frameNumber(_ time: Double, _ rate: FrameRate) -> Int {
        Int((time * Double(rate.numerator) / Double(rate.denominator)).rounded())
    }

    /// The schema wants finite, non-negative frame times and finite alpha > 0.
    private static func validateEmotions(_ clip: AnimationClip) throws {
        let track = clip.emotions
        for frame in 0..<track.frameCount {
            let time = track.times[frame]
            guard time.isFinite, time >= 0, frame == 0 || time > track.times[frame - 1] else {
                throw ExportError(
                    "clip.emotionTime", "clip \"\(clip.name)\", emotion frame \(frame): time \(time) is not a finite, increasing time >= 0")
            }
            guard track.alpha(frame: frame).allSatisfy({ $0.isFinite && $0 > 0 }) else {
                throw ExportError("clip.emotionAlpha", "clip \"\(clip.name)\", emotion frame \(frame): alpha must be finite and > 0")
            }
        }
    }
}
