import Common
import Curves
import ExportKit
import Foundation

/// Writes a clip as FBX 7.4 ASCII: a small quad mesh with a BlendShape deformer holding one
/// BlendShapeChannel (and its Shape geometry) per blendshape, and one animation stack whose
/// curves drive each channel's `DeformPercent` (0-100, so weights are scaled by 100).
///
/// Times are KTime ticks (46186158000 per second); `GlobalSettings.TimeMode` names the frame
/// rate (`FBXTimeMode`), with a custom rate when FBX has no mode for it. Keys keep the clip's
/// interpolation: constant (step), linear, or cubic with user tangents, broken left and right,
/// and the default 1/3 weights, which makes FBX's Bezier segment the same cubic as the
/// clip's Hermite segment. Nothing in the file depends on the clock: output is byte-identical.
public struct FBXExporter: Exporter {
    public init() {}

    /// KTime ticks per second.
    public static let ticksPerSecond: Double = 46_186_158_000

    public func render(_ clip: AnimationClip, baseName: String) throws -> [ExportedFile] {
        try clip.validateForExport()
        for name in clip.channelNames + [clip.name] where name.contains(where: { $0 == "\"" || $0.isNewline || $0 == "\0" }) {
            throw ExportError(
                "fbx.name", "clip \"\(clip.name)\": FBX ASCII cannot hold the name \"\(name)\" (quotes, line breaks and NUL are not allowed)")
        }
        var writer = FBXTextWriter()
        FBXDocumentWriter(clip: clip).write(to: &writer)
        return [ExportedFile(suffix: ".fbx", data: Data(writer.bytes))]
    }

    /// KTime of `seconds`, rounded to the nearest tick.
    static func ticks(_ seconds: Double) -> Int64 { Int64((seconds * ticksPerSecond).rounded()) }
}

/// FBX's `GlobalSettings.TimeMode` values (the FBX SDK's `FbxTime::EMode`).
public enum FBXTimeMode {
    public static let custom = 14

    /// The mode for an exact frame rate, or `custom` (14) when FBX has none for it.
    public static func mode(for rate: FrameRate) -> Int {
        switch (rate.numerator, rate.denominator) {
        case (120, 1): return 1
        case (100, 1): return 2
        case (60, 1): return 3
        case (50, 1): return 4
        case (48, 1): return 5
        case (30, 1): return 6
        case (30000, 1001): return 9  // NTSC full frame, 29.97
        case (25, 1): return 10  // PAL
        case (24, 1): return 11
        case (1000, 1): return 12
        case (24000, 1001): return 13  // film full frame, 23.976
        case (96, 1): return 15
        case (72, 1): return 16
        case (60000, 1001): return 17  // 59.94
        case (120000, 1001): return 18  // 119.88
        default: return custom
        }
    }
}

/// Key attribute flags of FBX animation curves (the FBX SDK's `FbxAnimCurveDef`).
enum FBXKeyFlags {
    static let interpolationConstant: Int32 = 0x0000_0002
    static let interpolationLinear: Int32 = 0x0000_0004
    static let interpolationCubic: Int32 = 0x0000_0008
    static let tangentUser: Int32 = 0x0000_0400
    static let tangentGenericBreak: Int32 = 0x0000_0800
    /// Right and next-left weights both 1/3 (3333 each, packed as two 16-bit fields):
    /// the third float of a key's attribute data, written as its integer value in ASCII.
    static let defaultWeights: Int64 = 0x0D05_0D05
}
