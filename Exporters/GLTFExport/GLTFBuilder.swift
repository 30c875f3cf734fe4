import Common
import Curves
import ExportKit
import Foundation
import JSONIO

/// Appends binary data, buffer views, accessors, meshes and animations to a glTF document
/// whose data lives in one buffer (index 0), then writes it as GLB or .gltf + .bin.
struct GLTFBuilder {
    var document: JSONObject
    /// The single buffer's bytes; every view starts on a 4-byte boundary.
    private(set) var binary: [UInt8]
    private var bufferViews: [JSONValue]
    private var accessors: [JSONValue]
    private var meshes: [JSONValue]
    private var animations: [JSONValue]

    static let arrayBuffer: Int64 = 34962
    static let elementArrayBuffer: Int64 = 34963
    static let float: Int64 = 5126
    static let unsignedShort: Int64 = 5123

    init(document: JSONObject, binary: [UInt8]) {
        self.document = document
        self.binary = binary
        bufferViews = document["bufferViews"]?.arrayValue ?? []
        accessors = document["accessors"]?.arrayValue ?? []
        meshes = document["meshes"]?.arrayValue ?? []
        animations = document["animations"]?.arrayValue ?? []
    }

    // MARK: - Binary data

    /// Appends `bytes` as a new buffer view (4-byte aligned) and returns its index.
    mutating func addView(_ bytes: UnsafeRawBufferPointer, target: Int64? = nil) -> Int {
        while binary.count % 4 != 0 { binary.append(0) }
        var view = JSONObject([
            ("buffer", 0), ("byteOffset", .integer(Int64(binary.count))), ("byteLength", .integer(Int64(bytes.count))),
        ])
        if let target { view["target"] = .integer(target) }
        binary.append(contentsOf: bytes)
        bufferViews.append(.object(view))
        return bufferViews.count - 1
    }

    /// Appends float32 data as an accessor of `type` ("SCALAR", "VEC3") and returns its index;
    /// `withBounds` adds per-component min/max, computed from the float32 values written.
    mutating func addFloatAccessor(_ values: [Float], type: String, withBounds: Bool, target: Int64? = nil) -> Int {
        let components = type == "VEC3" ? 3 : 1
        // glTF data is little-endian, like every platform Swift runs on here.
        let view = values.map { $0.bitPattern.littleEndian }.withUnsafeBytes { addView($0, target: target) }
        var accessor = JSONObject([
            ("bufferView", .integer(Int64(view))), ("componentType", .integer(Self.float)),
            ("count", .integer(Int64(values.count / components))), ("type", .string(type)),
        ])
        if withBounds {
            var low = [Float](repeating: .infinity, count: components)
            var high = [Float](repeating: -.infinity, count: components)
            for (index, value) in values.enumerated() {
                low[index % components] = min(low[index % components], value)
                high[index % components] = max(high[index % components], value)
            }
            accessor["min"] = .array(low.map { .number(Double($0)) })
            accessor["max"] = .array(high.map { .number(Double($0)) })
        }
        accessors.append(.object(accessor))
        return accessors.count - 1
    }

    mutating func addIndexAccessor(_ indices: [UInt16]) -> Int {
        var bytes: [UInt8] = []
        for index in indices {
            bytes.append(UInt8(truncatingIfNeeded: index))
            bytes.append(UInt8(truncatingIfNeeded: index >> 8))
        }
        let view = bytes.withUnsafeBytes { addView($0, target: Self.elementArrayBuffer) }
        accessors.append([
            "bufferView": .integer(Int64(view)), "componentType": .integer(Self.unsignedShort),
            "count": .integer(Int64(indices.count)), "type": "SCALAR",
            "min": [.integer(Int64(indices.min() ?? 0))], "max": [.integer(Int64(indices.max() ?? 0))],
        ])
        return accessors.count - 1
    }

    // MARK: - Scene content

    /// A unit quad in the XY plane with one morph target per name; target k lifts vertex
    /// k mod 4 by 0.1 along +Z (a visible, distinct displacement per target). Returns the mesh index.
    mutating func addStandInMesh(targetNames: [String]) -> Int {
        let corners: [Float] = [-0.5, -0.5, 0, 0.5, -0.5, 0, 0.5, 0.5, 0, -0.5, 0.5, 0]
        let position = addFloatAccessor(corners, type: "VEC3", withBounds: true, target: Self.arrayBuffer)
        let indices = addIndexAccessor([0, 1, 2, 0, 2, 3])
        var targets: [JSONValue] = []
        for index in targetNames.indices {
            var displacement = [Float](repeating: 0, count: 12)
            displacement[(index % 4) * 3 + 2] = 0.1
            let accessor = addFloatAccessor(displacement, type: "VEC3", withBounds: true, target: Self.arrayBuffer)
            targets.append(["POSITION": .integer(Int64(accessor))])
        }
        meshes.append([
            "name": "EmoBakeFace",
            "primitives": [
                ["attributes": ["POSITION": .integer(Int64(position))], "indices": .integer(Int64(indices)),
                 "mode": 4, "targets": .array(targets)]
            ],
            "weights": .array(targetNames.map { _ in .integer(0) }),
            "extras": ["targetNames": .array(targetNames.map { .string($0) })],
        ])
        return meshes.count - 1
    }

    mutating func setNodes(_ nodes: [JSONValue]) { document["nodes"] = .array(nodes) }

    /// Samples the clip for a node whose mesh has `slots.count` morph targets: slot j takes the
    /// curve at index `slots[j]`, or stays 0 when nil. Adds the input and output accessors and
    /// returns the sampler as JSON (its index is given when the animation is added).
    mutating func addWeightsSampler(_ clip: AnimationClip, slots: [Int?]) throws -> JSONValue {
        let sampled = try WeightsSampling.sample(clip, slots: slots)
        let input = addFloatAccessor(sampled.times, type: "SCALAR", withBounds: true)
        let output = addFloatAccessor(sampled.outputs, type: "SCALAR", withBounds: false)
        return [
            "input": .integer(Int64(input)), "interpolation": .string(clip.interpolation.gltfName),
            "output": .integer(Int64(output)),
        ]
    }

    /// Adds one animation named after the clip, with the clip's metadata in `extras`;
    /// `channels` pair a sampler (from `addWeightsSampler`) with the node whose weights it drives.
    mutating func addAnimation(_ clip: AnimationClip, channels: [(sampler: JSONValue, node: Int)]) {
        var samplers: [JSONValue] = []
        var channelValues: [JSONValue] = []
        for channel in channels {
            let samplerIndex: Int
            if let existing = samplers.firstIndex(of: channel.sampler) {
                samplerIndex = existing
            } else {
                samplers.append(channel.sampler)
                samplerIndex = samplers.count - 1
            }
            channelValues.append([
                "sampler": .integer(Int64(samplerIndex)),
                "target": ["node": .integer(Int64(channel.node)), "path": "weights"],
            ])
        }
        animations.append([
            "name": .string(clip.name), "channels": .array(channelValues), "samplers": .array(samplers),
            "extras": Self.metadataExtras(clip),
        ])
    }

    static func metadataExtras(_ clip: AnimationClip) -> JSONValue {
        let metadata = clip.metadata
        var object = JSONObject([("generator", .string(metadata.generator)), ("source", .string(metadata.source))])
        if let model = metadata.model { object["model"] = .string(model) }
        object["rig"] = .string(metadata.rig)
        object["smoothing"] = .string(metadata.smoothing)
        object["frameRate"] = .string(clip.frameRate.description)
        object["frameRateFraction"] = [.integer(Int64(clip.frameRate.numerator)), .integer(Int64(clip.frameRate.denominator))]
        object["duration"] = .decimal(clip.duration, places: 6)
        object["interpolation"] = .string(clip.interpolation.rawValue)
        var settings = JSONObject()
        for setting in metadata.settings { settings[setting.key] = .string(setting.value) }
        object["settings"] = .object(settings)
        return .object(object)
    }

    // MARK: - Output

    /// The finished files: `.glb`, or `.gltf` + `.bin` (the JSON refers to `<baseName>.bin`).
    func finish(binary asGLB: Bool, baseName: String) throws -> [ExportedFile] {
        var document = self.document
        document["meshes"] = meshes.isEmpty ? nil : .array(meshes)
        document["animations"] = animations.isEmpty ? nil : .array(animations)
        document["accessors"] = accessors.isEmpty ? nil : .array(accessors)
        document["bufferViews"] = bufferViews.isEmpty ? nil : .array(bufferViews)
        guard binary.count < Int(UInt32.max) - 1024 else {
            throw ExportError("gltf.tooLarge", "glTF output \(baseName): \(binary.count) bytes of data is over the 4 GiB glTF limit")
        }
        if binary.isEmpty {
            document["buffers"] = nil
        } else if asGLB {
            document["buffers"] = [["byteLength": .integer(Int64(binary.count))]]
        } else {
            document["buffers"] = [
                ["byteLength": .integer(Int64(binary.count)), "uri": .string(Self.uriEncoded(baseName + ".bin"))]
            ]
        }
        let ordered = Self.ordered(document)
        if asGLB {
            let json = try JSONCodec.serialize(.object(ordered), style: .compact)
            return [ExportedFile(suffix: ".glb", data: GLBContainer.pack(json: Array(json.utf8), binary: binary))]
        }
        let json = try JSONCodec.serialize(.object(ordered), style: .pretty)
        var files = [ExportedFile(suffix: ".gltf", data: Data(json.utf8))]
        if !binary.isEmpty { files.append(ExportedFile(suffix: ".bin", data: Data(binary))) }
        return files
    }

    /// Top-level keys in the order of the glTF spec's schema listing, unknown keys after them
    /// in their original order, so output is stable and easy to read.
    private static func ordered(_ document: JSONObject) -> JSONObject {
        let order = [
            "asset", "extensionsUsed", "extensionsRequired", "scene", "scenes", "nodes", "meshes", "skins", "cameras",
            "materials", "textures", "images", "samplers", "animations", "accessors", "bufferViews", "buffers",
        ]
        var result = JSONObject()
        for key in order { if let value = document[key] { result[key] = value } }
        for (key, value) in document.entries where !order.contains(key) { result[key] = value }
        return result
    }

    /// Percent-encodes everything but RFC 3986 unreserved characters.
    static func uriEncoded(_ text: String) -> String {
        var result = ""
        for byte in text.utf8 {
            let character = Character(Unicode.Scalar(byte))
            if byte < 0x80 && (character.isLetter || character.isNumber || "-._~".contains(character)) {
                result.append(character)
            } else {
                result += String(format: "%%%02X", byte)
            }
        }
        return result
    }
}

/// The binary glTF container (glTF 2.0 spec, "GLB File Format Specification"): a 12-byte
/// header (magic "glTF", version 2, total length), a JSON chunk padded with spaces and an
/// optional BIN chunk padded with zeros, each chunk 4-byte aligned.
enum GLBContainer {
    static let magic: UInt32 = 0x4654_6C67
    static let jsonChunk: UInt32 = 0x4E4F_534A
    static let binChunk: UInt32 = 0x004E_4942

    static func pack(json: [UInt8], binary: [UInt8]) -> Data {
        var jsonChunkData = json
        while jsonChunkData.count % 4 != 0 { jsonChunkData.append(0x20) }
        var binChunkData = binary
        while binChunkData.count % 4 != 0 { binChunkData.append(0) }
        let total = 12 + 8 + jsonChunkData.count + (binary.isEmpty ? 0 : 8 + binChunkData.count)
        var data = Data(capacity: total)
        append(&data, magic)
        append(&data, 2)
        append(&data, UInt32(total))
        append(&data, UInt32(jsonChunkData.count))
        append(&data, jsonChunk)
        data.append(contentsOf: jsonChunkData)
        if !binary.isEmpty {
            append(&data, UInt32(binChunkData.count))
            append(&data, binChunk)
            data.append(contentsOf: binChunkData)
        }
        return data
    }

    /// Splits a GLB into its JSON text and BIN chunk; `source` names the file in errors.
    static func unpack(_ data: Data, source: String) throws -> (json: Data, binary: [UInt8]?) {
        let bytes = [UInt8](data)
        func word(_ offset: Int) -> UInt32 {
            UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16
                | UInt32(bytes[offset + 3]) << 24
        }
        guard bytes.count >= 20, word(0) == magic else {
            throw ExportError("rig.glb", "\(source): not a GLB file (bad header)")
        }
        guard word(4) == 2 else { throw ExportError("rig.glb", "\(source): GLB version \(word(4)), expected 2") }
        let length = Int(word(8))
        guard length <= bytes.count else {
            throw ExportError("rig.glb", "\(source): GLB header says \(length) bytes but the file has \(bytes.count)")
        }
        var offset = 12
        var json: Data?
        var binary: [UInt8]?
        while offset + 8 <= length {
            let chunkLength = Int(word(offset))
            let chunkType = word(offset + 4)
            let start = offset + 8
            guard start + chunkLength <= length else {
                throw ExportError("rig.glb", "\(source): GLB chunk at byte \(offset) runs past the end of the file")
            }
            if chunkType == jsonChunk && json == nil {
                json = Data(bytes[start..<(start + chunkLength)])
            } else if chunkType == binChunk && binary == nil {
                binary = Array(bytes[start..<(start + chunkLength)])
            }
            offset = start + chunkLength
        }
        guard let json else { throw ExportError("rig.glb", "\(source): GLB has no JSON chunk") }
        return (json, binary)
    }

    private static func append(_ data: inout Data, _ value: UInt32) {
        withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) }
    }
}
