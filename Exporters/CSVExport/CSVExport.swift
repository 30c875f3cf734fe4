import Common
import Curves
import ExportKit
import Foundation

/// The table shapes the CSV exporter writes.
public enum CSVLayout: String, Sendable, CaseIterable {
    /// `frame,time,<one column per blendshape>`: one row per output frame, values evaluated
    /// from the keys (dense), for spreadsheets and engines that sample per frame.
    case wide
    /// `time,channel,value`: one row per key (sorted by time, then rig order), tidy data
    /// for pandas or R. Values between keys follow the clip's interpolation; the tangents of
    /// cubic keys are in the XML timeline.
    case long
    /// Unreal Engine curve table (`Name,<time>,<time>...` then one row per curve), imported
    /// with Data Table / Curve Table import. Columns are the union of all key times for
    /// linear and step clips (exact when imported with the same interpolation) and every
    /// output frame for cubic clips (the CSV cannot carry tangents).
    case unreal
}

/// Writes a clip as one CSV file: UTF-8, LF line endings, fixed decimals (times and values
/// with 6), fields quoted per RFC 4180 only when they hold a comma, quote or line break.
public struct CSVExporter: Exporter {
    public var layout: CSVLayout
    /// Decimals of times and values.
    public static let decimals = 6

    public init(layout: CSVLayout = .wide) {
        self.layout = layout
    }

    public func render(_ clip: AnimationClip, baseName: String) throws -> [ExportedFile] {
        try clip.validateForExport()
        let text: String
        switch layout {
        case .wide: text = Self.wide(clip)
        case .long: text = Self.long(clip)
        case .unreal: text = Self.unreal(clip)
        }
        return [ExportedFile(suffix: ".csv", data: Data(text.utf8))]
    }

    private static func number(_ value: Double) -> String { DecimalFormat.fixed(value, decimals) }

    private static func wide(_ clip: AnimationClip) -> String {
        var text = "frame,time," + clip.channelNames.map(field).joined(separator: ",") + "\n"
        var cursors = clip.curves.map { CurveCursor($0, interpolation: clip.interpolation) }
        for frame in 0..<clip.outputFrameCount {
            let time = clip.frameRate.time(ofFrame: frame)
            text += String(frame)
            text += ","
            text += number(time)
            for index in cursors.indices {
                text += ","
                text += number(cursors[index].value(at: time))
            }
            text += "\n"
        }
        return text
    }

    private static func long(_ clip: AnimationClip) -> String {
        // Merge the curves' keys by time; ties keep rig order (a stable sort over rig order).
        var rows: [(time: Double, channel: Int, value: Double)] = []
        rows.reserveCapacity(clip.curves.reduce(0) { $0 + $1.keys.count })
        for (channel, curve) in clip.curves.enumerated() {
            for key in curve.keys { rows.append((key.time, channel, key.value)) }
        }
        rows.sort { $0.time != $1.time ? $0.time < $1.time : $0.channel < $1.channel }
        let names = clip.channelNames.map(field)
        var text = "time,channel,value\n"
        for row in rows {
            text += number(row.time)
            text += ","
            text += names[row.channel]
            text += ","
            text += number(row.value)
            text += "\n"
        }
        return text
    }

    private static func unreal(_ clip: AnimationClip) -> String {
        let times = clip.interpolation == .cubic ? clip.outputFrameTimes : clip.unionKeyTimes
        var text = "Name"
        for time in times {
            text += ","
            text += number(time)
        }
        text += "\n"
        for curve in clip.curves {
            var cursor = CurveCursor(curve, interpolation: clip.interpolation)
            text += field(curve.name)
            for time in times {
                text += ","
                text += number(cursor.value(at: time))
            }
            text += "\n"
        }
        return text
    }

    /// RFC 4180 quoting: only when needed, with doubled quotes inside.
    static func field(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
