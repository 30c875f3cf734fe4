import Common
import Curves
import ExportKit

/// Accumulates FBX ASCII text as UTF-8 bytes: nodes with tab indentation, `P:` property
/// lines and arrays.
struct FBXTextWriter {
    private(set) var bytes: [UInt8] = []
    private var depth = 0

    private mutating func indent() {
        for _ in 0..<depth { bytes.append(UInt8(ascii: "\t")) }
    }

    mutating func line(_ content: String) {
        indent()
        bytes.append(contentsOf: content.utf8)
        bytes.append(UInt8(ascii: "\n"))
    }

    mutating func open(_ header: String) {
        line(header + " {")
        depth += 1
    }

    mutating func close() {
        depth -= 1
        line("}")
    }

    /// `P: "name", "type", "label", "flags",values...`
    mutating func property(_ name: String, _ type: String, _ label: String, _ flags: String, _ values: String...) {
        let tail = values.isEmpty ? "" : "," + values.joined(separator: ",")
        line("P: \"\(name)\", \"\(type)\", \"\(label)\", \"\(flags)\"\(tail)")
    }

    /// `Name: *count { a: v,v,... }`
    mutating func array(_ name: String, _ values: [String]) {
        array(name, count: values.count) { bytes in
            for (index, value) in values.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                bytes.append(contentsOf: value.utf8)
            }
        }
    }

    /// `Name: *count { a: ... }` where `items` appends the comma-separated values itself.
    mutating func array(_ name: String, count: Int, items: (inout [UInt8]) -> Void) {
        open("\(name): *\(count)")
        indent()
        bytes.append(contentsOf: "a: ".utf8)
        items(&bytes)
        bytes.append(UInt8(ascii: "\n"))
        close()
    }
}

/// Lays out the whole FBX document for one clip.
struct FBXDocumentWriter {
    let clip: AnimationClip

    /// Object ids: fixed, so the file is byte-identical across runs.
    private enum Id {
        static let document: Int64 = 1_000
        static let geometry: Int64 = 2_000
        static let model: Int64 = 3_000
        static let blendShape: Int64 = 4_000
        static let stack: Int64 = 5_000
        static let layer: Int64 = 6_000
        /// Per blendshape i: channel 10_000 + 10i, shape +1, curve node +2, curve +3.
        static func channel(_ i: Int) -> Int64 { 10_000 + 10 * Int64(i) }
        static func shape(_ i: Int) -> Int64 { channel(i) + 1 }
        static func curveNode(_ i: Int) -> Int64 { channel(i) + 2 }
        static func curve(_ i: Int) -> Int64 { channel(i) + 3 }
    }

    private static let stackName = "Take 001"
    private static let decimals = 6

    private func number(_ value: Double) -> String { FixedDecimal.trimmed(value, Self.decimals) }

    func write(to w: inout FBXTextWriter) {
        let channels = clip.curves.count
        let stop = FBXExporter.ticks(clip.duration)
        w.line("; FBX 7.4.0 project file")
        w.line("; Written by \(clip.metadata.generator) (FBX ASCII); blendshape curves drive BlendShapeChannel DeformPercent (0-100)")
        w.line("; ----------------------------------------------------")
        w.line("")
        writeHeader(to: &w)
        writeGlobalSettings(to: &w, stop: stop)

        w.open("Documents: ")
        w.line("Count: 1")
        w.open("Document: \(Id.document), \"\", \"Scene\"")
        w.open("Properties70: ")
        w.property("SourceObject", "object", "", "")
        w.property("ActiveAnimStackName", "KString", "", "", "\"\(Self.stackName)\"")
        w.close()
        w.line("RootNode: 0")
        w.close()
        w.close()
        w.line("")
        w.open("References: ")
        w.close()
        w.line("")

        w.open("Definitions: ")
        w.line("Version: 100")
        let counts: [(String, Int)] = [
            ("GlobalSettings", 1), ("Model", 1), ("Geometry", 1 + channels), ("Deformer", 1 + channels),
            ("AnimationStack", 1), ("AnimationLayer", 1), ("AnimationCurveNode", channels), ("AnimationCurve", channels),
        ]
        w.line("Count: \(counts.reduce(0) { $0 + $1.1 })")
        for (type, count) in counts {
            w.open("ObjectType: \"\(type)\"")
            w.line("Count: \(count)")
            w.close()
        }
        w.close()
        w.line("")

        w.open("Objects: ")
        writeMesh(to: &w)
        writeBlendShapes(to: &w)
        writeAnimation(to: &w, stop: stop)
        w.close()
        w.line("")

        w.open("Connections: ")
        w.line("C: \"OO\",\(Id.model),0")
        w.line("C: \"OO\",\(Id.geometry),\(Id.model)")
        w.line("C: \"OO\",\(Id.blendShape),\(Id.geometry)")
        for i in 0..<channels {
            w.line("C: \"OO\",\(Id.channel(i)),\(Id.blendShape)")
            w.line("C: \"OO\",\(Id.shape(i)),\(Id.channel(i))")
        }
        w.line("C: \"OO\",\(Id.layer),\(Id.stack)")
        for i in 0..<channels {
            w.line("C: \"OO\",\(Id.curveNode(i)),\(Id.layer)")
            w.line("C: \"OP\",\(Id.curveNode(i)),\(Id.channel(i)), \"DeformPercent\"")
            w.line("C: \"OP\",\(Id.curve(i)),\(Id.curveNode(i)), \"d|DeformPercent\"")
        }
        w.close()
        w.line("")

        w.open("Takes: ")
        w.line("Current: \"\(Self.stackName)\"")
        w.open("Take: \"\(Self.stackName)\"")
        w.line("FileName: \"Take_001.tak\"")
        w.line("LocalTime: 0,\(stop)")
        w.line("ReferenceTime: 0,\(stop)")
        w.close()
        w.close()
    }

    private func writeHeader(to w: inout FBXTextWriter) {
        let metadata = clip.metadata
        w.open("FBXHeaderExtension: ")
        w.line("FBXHeaderVersion: 1003")
        w.line("FBXVersion: 7400")
        w.line("EncryptionType: 0")
        w.line("Creator: \"\(escaped(metadata.generator))\"")
        w.open("SceneInfo: \"SceneInfo::GlobalInfo\", \"UserData\"")
        w.line("Type: \"UserData\"")
        w.line("Version: 100")
        w.open("MetaData: ")
        w.line("Version: 100")
        w.line("Title: \"\(escaped(clip.name))\"")
        w.line("Subject: \"\(escaped(metadata.source))\"")
        w.line("Author: \"\(escaped(metadata.generator))\"")
        w.line("Keywords: \"emobake blendshapes\"")
        w.line("Revision: \"\"")
        w.line("Comment: \"\(escaped(metadataSummary))\"")
        w.close()
        w.open("Properties70: ")
        w.property("Original|ApplicationName", "KString", "", "", "\"\(escaped(metadata.generator))\"")
        w.property("Original|FileName", "KString", "", "", "\"\(escaped(metadata.source))\"")
        w.close()
        w.close()
        w.close()
        w.line("")
    }

    /// "source=...; model=...; rig=...; smoothing=...; fps=...; interpolation=...; key=value..."
    private var metadataSummary: String {
        let metadata = clip.metadata
        var parts = ["source=\(metadata.source)"]
        if let model = metadata.model { parts.append("model=\(model)") }
        parts += [
            "rig=\(metadata.rig)", "smoothing=\(metadata.smoothing)", "fps=\(clip.frameRate)",
            "interpolation=\(clip.interpolation.rawValue)",
        ]
        parts += metadata.settings.map { "\($0.key)=\($0.value)" }
        return parts.joined(separator: "; ")
    }

    private func writeGlobalSettings(to w: inout FBXTextWriter, stop: Int64) {
        let mode = FBXTimeMode.mode(for: clip.frameRate)
        w.open("GlobalSettings: ")
        w.line("Version: 1000")
        w.open("Properties70: ")
        w.property("UpAxis", "int", "Integer", "", "1")
        w.property("UpAxisSign", "int", "Integer", "", "1")
        w.property("FrontAxis", "int", "Integer", "", "2")
        w.property("FrontAxisSign", "int", "Integer", "", "1")
        w.property("CoordAxis", "int", "Integer", "", "0")
        w.property("CoordAxisSign", "int", "Integer", "", "1")
        w.property("OriginalUpAxis", "int", "Integer", "", "1")
        w.property("OriginalUpAxisSign", "int", "Integer", "", "1")
        w.property("UnitScaleFactor", "double", "Number", "", "1")
        w.property("OriginalUnitScaleFactor", "double", "Number", "", "1")
        w.property("TimeMode", "enum", "", "", String(mode))
        w.property("TimeProtocol", "enum", "", "", "2")
        w.property("SnapOnFrameMode", "enum", "", "", "0")
        w.property("TimeSpanStart", "KTime", "Time", "", "0")
        w.property("TimeSpanStop", "KTime", "Time", "", String(stop))
        w.property(
            "CustomFrameRate", "double", "Number", "",
            mode == FBXTimeMode.custom ? DecimalFormat.trimmed(clip.frameRate.framesPerSecond, 9) : "-1")
        w.close()
        w.close()
        w.line("")
    }

    /// A unit quad in the XY plane (the same stand-in face as the glTF exporter).
    private func writeMesh(to w: inout FBXTextWriter) {
        w.open("Geometry: \(Id.geometry), \"Geometry::EmoBakeFace\", \"Mesh\"")
        w.array("Vertices", ["-0.5", "-0.5", "0", "0.5", "-0.5", "0", "0.5", "0.5", "0", "-0.5", "0.5", "0"])
        w.array("PolygonVertexIndex", ["0", "1", "2", "-4"])
        w.line("GeometryVersion: 124")
        w.open("LayerElementNormal: 0")
        w.line("Version: 101")
        w.line("Name: \"\"")
        w.line("MappingInformationType: \"ByPolygonVertex\"")
        w.line("ReferenceInformationType: \"Direct\"")
        w.array("Normals", Array(repeating: ["0", "0", "1"], count: 4).flatMap { $0 })
        w.close()
        w.open("Layer: 0")
        w.line("Version: 100")
        w.open("LayerElement: ")
        w.line("Type: \"LayerElementNormal\"")
        w.line("TypedIndex: 0")
        w.close()
        w.close()
        w.close()

        w.open("Model: \(Id.model), \"Model::EmoBakeFace\", \"Mesh\"")
        w.line("Version: 232")
        w.open("Properties70: ")
        w.property("DefaultAttributeIndex", "int", "Integer", "", "0")
        w.close()
        w.line("Shading: T")
        w.line("Culling: \"CullingOff\"")
        w.close()
    }

    /// One BlendShape deformer; per blendshape a channel and a Shape geometry that lifts
    /// vertex i mod 4 by 0.1 along +Z (as in the glTF stand-in).
    private func writeBlendShapes(to w: inout FBXTextWriter) {
        w.open("Deformer: \(Id.blendShape), \"Deformer::EmoBakeFace\", \"BlendShape\"")
        w.line("Version: 100")
        w.close()
        for (i, curve) in clip.curves.enumerated() {
            w.open("Deformer: \(Id.channel(i)), \"SubDeformer::\(curve.name)\", \"BlendShapeChannel\"")
            w.line("Version: 100")
            w.line("DeformPercent: 0")
            w.array("FullWeights", ["100"])
            w.close()
            w.open("Geometry: \(Id.shape(i)), \"Geometry::\(curve.name)\", \"Shape\"")
            w.line("Version: 100")
            w.array("Indexes", [String(i % 4)])
            w.array("Vertices", ["0", "0", "0.1"])
            w.array("Normals", ["0", "0", "0"])
            w.close()
        }
    }

    private func writeAnimation(to w: inout FBXTextWriter, stop: Int64) {
        w.open("AnimationStack: \(Id.stack), \"AnimStack::\(Self.stackName)\", \"\"")
        w.open("Properties70: ")
        w.property("Description", "KString", "", "", "\"\(escaped(metadataSummary))\"")
        w.property("LocalStart", "KTime", "Time", "", "0")
        w.property("LocalStop", "KTime", "Time", "", String(stop))
        w.property("ReferenceStart", "KTime", "Time", "", "0")
        w.property("ReferenceStop", "KTime", "Time", "", String(stop))
        w.close()
        w.close()
        w.open("AnimationLayer: \(Id.layer), \"AnimLayer::BaseLayer\", \"\"")
        w.close()
        for (i, curve) in clip.curves.enumerated() {
            w.open("AnimationCurveNode: \(Id.curveNode(i)), \"AnimCurveNode::DeformPercent\", \"\"")
            w.open("Properties70: ")
            w.property("d|DeformPercent", "Number", "", "A", number(curve.keys[0].value * 100))
            w.close()
            w.close()
            writeCurve(curve, id: Id.curve(i), to: &w)
        }
    }

    /// KeyAttrFlags / KeyAttrDataFloat / KeyAttrRefCount: each attribute covers `refCount`
    /// consecutive keys. Step and linear curves share one attribute; cubic keys each get their
    /// own with [right slope, next key's left slope, packed 1/3 weights, 0 velocity], slopes in
    /// DeformPercent per second. FBX 7.2+ ASCII writes each KeyAttrDataFloat entry as the
    /// integer whose bits are the float32 (readers reinterpret them), see `floatBits`.
    private func writeCurve(_ curve: BlendshapeCurve, id: Int64, to w: inout FBXTextWriter) {
        let keys = curve.keys
        w.open("AnimationCurve: \(id), \"AnimCurve::\", \"\"")
        w.line("Default: \(number(keys[0].value * 100))")
        w.line("KeyVer: 4009")
        w.array("KeyTime", count: keys.count) { bytes in
            for (index, key) in keys.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                FixedDecimal.appendInteger(FBXExporter.ticks(key.time), to: &bytes)
            }
        }
        w.array("KeyValueFloat", count: keys.count) { bytes in
            for (index, key) in keys.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                FixedDecimal.appendTrimmed(key.value * 100, Self.decimals, to: &bytes)
            }
        }
        switch clip.interpolation {
        case .step, .linear:
            let flag = clip.interpolation == .step ? FBXKeyFlags.interpolationConstant : FBXKeyFlags.interpolationLinear
            w.array("KeyAttrFlags", [String(flag)])
            w.array("KeyAttrDataFloat", ["0", "0", String(FBXKeyFlags.defaultWeights), "0"])
            w.array("KeyAttrRefCount", [String(keys.count)])
        case .cubic:
            let flag = String(FBXKeyFlags.interpolationCubic | FBXKeyFlags.tangentUser | FBXKeyFlags.tangentGenericBreak)
            w.array("KeyAttrFlags", count: keys.count) { bytes in
                for index in keys.indices {
                    if index > 0 { bytes.append(UInt8(ascii: ",")) }
                    bytes.append(contentsOf: flag.utf8)
                }
            }
            let weights = String(FBXKeyFlags.defaultWeights)
            w.array("KeyAttrDataFloat", count: keys.count * 4) { bytes in
                for index in keys.indices {
                    let last = index + 1 == keys.count
                    let right = last ? 0 : keys[index].outTangent
                    let nextLeft = last ? 0 : keys[index + 1].inTangent
                    if index > 0 { bytes.append(UInt8(ascii: ",")) }
                    FixedDecimal.appendInteger(Self.floatBits(right * 100), to: &bytes)
                    bytes.append(UInt8(ascii: ","))
                    FixedDecimal.appendInteger(Self.floatBits(nextLeft * 100), to: &bytes)
                    bytes.append(UInt8(ascii: ","))
                    bytes.append(contentsOf: weights.utf8)
                    bytes.append(contentsOf: ",0".utf8)
                }
            }
            w.array("KeyAttrRefCount", count: keys.count) { bytes in
                for index in keys.indices {
                    bytes.append(contentsOf: index > 0 ? ",1".utf8 : "1".utf8)
                }
            }
        }
        w.close()
    }

    /// A float32 written as the signed integer with the same 32 bits, as FBX 7.2+ ASCII
    /// stores KeyAttrDataFloat (59.5 is 1114570752; the packed 1/3 weights are 218434821).
    private static func floatBits(_ value: Double) -> Int64 { Int64(Int32(bitPattern: Float(value).bitPattern)) }

    /// FBX ASCII strings have no escapes; metadata text (not names, which are refused) has
    /// its quotes and line breaks replaced.
    private func escaped(_ text: String) -> String {
        String(text.map { $0 == "\"" ? "'" : ($0.isNewline || $0 == "\0" ? " " : $0) })
    }
}
