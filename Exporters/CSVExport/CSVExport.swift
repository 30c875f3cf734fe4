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
        let bytes: [UInt8]
        switch layout {
        case .wide: bytes = Self.wide(clip)
        case .long: bytes = Self.long(clip)
        case .unreal: bytes = Self.unreal(clip)
        }
        return [ExportedFile(suffix: ".csv", data: Data(bytes))]
    }

    private static let comma = UInt8(ascii: ",")
    private static let newline = UInt8(ascii: "\n")

    private static func wide(_ clip: AnimationClip) -> [UInt8] {
        let frames = clip.outputFrameCount
        var out: [UInt8] = []
        out.reserveCapacity(frames * (16 + clip.curves.count * 9))
        out.append(contentsOf: ("frame,time," + clip.channelNames.map(field).joined(separator: ",") + "\n").utf8)
        var cursors = clip.curves.map { CurveCursor($0, interpolation: clip.interpolation) }
        for frame in 0..<frames {
            let time = clip.frameRate.time(ofFrame: frame)
            FixedDecimal.appendInteger(Int64(frame), to: &out)
            out.append(comma)
            FixedDecimal.append(time, decimals, to: &out)
            for index in cursors.indices {
                out.append(comma)
                FixedDecimal.append(cursors[index].value(at: time), decimals, to: &out)
            }
            out.append(newline)
        }
        return out
    }

    private static func long(_ clip: AnimationClip) -> [UInt8] {
        // Merge the curves' keys by time; ties keep rig order.
        var rows: [(time: Double, channel: Int, value: Double)] = []
        rows.reserveCapacity(clip.curves.reduce(0) { $0 + $1.keys.count })
        for (channel, curve) in clip.curves.enumerated() {
            for key in curve.keys { rows.append((key.time, channel, key.value)) }
        }
        rows.sort { $0.time != $1.time ? $0.time < $1.time : $0.channel < $1.channel }
        let names = clip.channelNames.map { Array(field($0).utf8) }
        var out: [UInt8] = []
        out.reserveCapacity(rows.count * 32)
        out.append(contentsOf: "time,channel,value\n".utf8)
        for row in rows {
            FixedDecimal.append(row.time, decimals, to: &out)
            out.append(comma)
            out.append(contentsOf: names[row.channel])
            out.append(comma)
            FixedDecimal.append(row.value, decimals, to: &out)
            out.append(newline)
        }
        return out
    }

    private static func unreal(_ clip: AnimationClip) -> [UInt8] {
        let times = clip.interpolation == .cubic ? clip.outputFrameTimes : clip.unionKeyTimes
        var out: [UInt8] = []
        out.reserveCapacity((clip.curves.count + 1) * times.count * 9)
        out.append(contentsOf: "Name".utf8)
        for time in times {
            out.append(comma)
            FixedDecimal.append(time, decimals, to: &out)
        }
        out.append(newline)
        for curve in clip.curves {
            var cursor = CurveCursor(curve, interpolation: clip.interpolation)
            out.append(contentsOf: field(curve.name).utf8)
            for time in times {
                out.append(comma)
                FixedDecimal.append(cursor.value(at: time), decimals, to: &out)
            }
            out.append(newline)
        }
        return out
    }

    /// RFC 4180 quoting: only when needed, with doubled quotes inside.
    static func field(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
