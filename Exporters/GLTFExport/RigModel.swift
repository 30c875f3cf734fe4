import Common
import Curves
import ExportKit
import Foundation
import JSONIO

/// What `--rig-model` matched: which meshes got the animation and which names found no
/// partner. The command line prints `warnings`.
public struct RigMatchReport: Sendable, Equatable {
    /// The rig file as given.
    public var rigModel: String
    /// Names (or `mesh N`) of the meshes whose morph targets are animated.
    public var animatedMeshes: [String]
    /// Blendshapes of the clip that drive at least one morph target, in clip order.
    public var matchedBlendshapes: [String]
    /// Blendshapes of the clip that match no morph target of any mesh, in clip order.
    public var unmatchedBlendshapes: [String]
    /// Morph targets of the animated meshes that no blendshape drives (they stay at 0).
    public var unanimatedTargets: [String]
    /// Anything else worth knowing (for example an image left as an external file).
    public var notes: [String]

    /// One line per problem, for people.
    public var warnings: [String] {
        var lines: [String] = []
        if !unmatchedBlendshapes.isEmpty {
            lines.append(
                "\(rigModel): no morph target named \(unmatchedBlendshapes.map { "\"\($0)\"" }.joined(separator: ", ")) (\(unmatchedBlendshapes.count) of \(matchedBlendshapes.count + unmatchedBlendshapes.count) blendshapes not animated)")
        }
        if !unanimatedTargets.isEmpty {
            lines.append(
                "\(rigModel): morph targets \(unanimatedTargets.map { "\"\($0)\"" }.joined(separator: ", ")) have no curve and stay at 0")
        }
        return lines + notes
    }
}

/// A user's glTF 2.0 model (`.glb`, or `.gltf` with its buffers embedded as data URIs or in
/// files beside it), its buffers merged into one so the result is self-contained.
struct RigModel {
    let url: URL
    let document: JSONObject
    /// All of the model's buffers, concatenated (each started on a 16-byte boundary), plus
    /// any external or data-URI images moved into it.
    let binary: [UInt8]
    let notes: [String]

    static func load(_ url: URL) throws -> RigModel {
        let source = url.path
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw ExportError(
                "rig.read",
                "\(source): cannot read the rig model (\(FileManager.default.fileExists(atPath: source) ? "permission or I/O error" : "no such file"))")
        }
        var jsonData = data
        var glbBinary: [UInt8]?
        if data.count >= 4 && data.prefix(4) == Data("glTF".utf8) {
            (jsonData, glbBinary) = try GLBContainer.unpack(data, source: source)
        }
        let root = try JSONCodec.parse(jsonData, source: source)
        guard var document = root.objectValue else { throw ExportError("rig.json", "\(source): glTF JSON must be an object") }
        guard let version = document["asset"]?["version"]?.stringValue, version.hasPrefix("2.") else {
            throw ExportError("rig.version", "\(source): not a glTF 2.0 file (asset.version must be \"2.x\")")
        }
        // Buffer views of these extensions point into other buffers themselves, which the
        // merge below would break; gltfpack without -c writes a model without them.
        let extensions = (document["extensionsUsed"]?.arrayValue ?? []).compactMap(\.stringValue)
        for name in ["EXT_meshopt_compression", "KHR_meshopt_compression"] where extensions.contains(name) {
            throw ExportError(
                "rig.extension", "\(source): \(name) is not supported in a rig model; write the model without it (for example gltfpack without -c)")
        }
        let directory = url.deletingLastPathComponent()

        // Merge every buffer into one and move buffer views onto it.
        var binary: [UInt8] = []
        var bases: [Int] = []
        let buffers = document["buffers"]?.arrayValue ?? []
        for (index, buffer) in buffers.enumerated() {
            let label = "\(source): buffers[\(index)]"
            guard let byteLength = buffer["byteLength"]?.intValue, byteLength >= 0 else {
                throw ExportError("rig.buffer", "\(label): missing byteLength")
            }
            let bytes: [UInt8]
            if let uri = buffer["uri"]?.stringValue {
                bytes = try resolve(uri: uri, in: directory, label: label).bytes
            } else if index == 0, let glbBinary {
                bytes = glbBinary
            } else {
                throw ExportError("rig.buffer", "\(label): no uri and no GLB binary chunk")
            }
            guard bytes.count >= byteLength else {
                throw ExportError("rig.buffer", "\(label): byteLength \(byteLength) but only \(bytes.count) bytes of data")
            }
            while binary.count % 16 != 0 { binary.append(0) }
            bases.append(binary.count)
            binary.append(contentsOf: bytes.prefix(byteLength))
        }
        var views = document["bufferViews"]?.arrayValue ?? []
        for index in views.indices {
            guard var view = views[index].objectValue, let buffer = view["buffer"]?.intValue, bases.indices.contains(buffer)
            else { throw ExportError("rig.bufferView", "\(source): bufferViews[\(index)] refers to a missing buffer") }
            let offset = view["byteOffset"]?.intValue ?? 0
            guard let length = view["byteLength"]?.intValue, offset >= 0, length >= 0,
                offset + length <= (buffers[buffer]["byteLength"]?.intValue ?? 0)
            else { throw ExportError("rig.bufferView", "\(source): bufferViews[\(index)] lies outside its buffer") }
            view["buffer"] = 0
            view["byteOffset"] = .integer(Int64(bases[buffer] + offset))
            views[index] = .object(view)
        }

        // Images stored as files or data URIs move into the buffer, so the output stands alone.
        var notes: [String] = []
        var images = document["images"]?.arrayValue ?? []
        for index in images.indices {
            guard var image = images[index].objectValue, let uri = image["uri"]?.stringValue else { continue }
            let label = "\(source): images[\(index)]"
            let resolved: (bytes: [UInt8], mimeType: String?)
            do {
                resolved = try resolve(uri: uri, in: directory, label: label)
            } catch {
                notes.append("\(label): image \"\(uri)\" could not be read and stays an external reference")
                continue
            }
            guard let mimeType = resolved.mimeType ?? imageType(resolved.bytes) else {
                notes.append("\(label): image \"\(uri)\" is neither PNG nor JPEG and stays an external reference")
                continue
            }
            while binary.count % 16 != 0 { binary.append(0) }
            views.append(["buffer": 0, "byteOffset": .integer(Int64(binary.count)), "byteLength": .integer(Int64(resolved.bytes.count))])
            binary.append(contentsOf: resolved.bytes)
            image["uri"] = nil
            image["mimeType"] = .string(mimeType)
            image["bufferView"] = .integer(Int64(views.count - 1))
            images[index] = .object(image)
        }
        if !images.isEmpty { document["images"] = .array(images) }
        document["bufferViews"] = views.isEmpty ? nil : .array(views)
        document["buffers"] = nil
        return RigModel(url: url, document: document, binary: binary, notes: notes)
    }

    /// The morph target names of a mesh: `mesh.extras.targetNames`, or the first primitive's
    /// `extras.targetNames` (older exporters), checked against the number of targets.
    private func targetNames(_ mesh: JSONValue, index: Int) throws -> [String]? {
        let primitives = mesh["primitives"]?.arrayValue ?? []
        let targetCount = primitives.first?["targets"]?.arrayValue?.count ?? 0
        guard targetCount > 0 else { return nil }
        let namesValue = mesh["extras"]?["targetNames"] ?? primitives.first?["extras"]?["targetNames"]
        guard let names = namesValue?.arrayValue?.compactMap(\.stringValue), !names.isEmpty else { return nil }
        guard names.count == targetCount else {
            throw ExportError(
                "rig.targetNames",
                "\(url.path): meshes[\(index)] has \(targetCount) morph targets but \(names.count) targetNames")
        }
        return names
    }

    /// Adds the clip as an animation on every node whose mesh has morph targets named like
    /// the clip's blendshapes. Throws when no mesh matches at all.
    func addAnimation(_ clip: AnimationClip, to builder: inout GLTFBuilder) throws -> RigMatchReport {
        let meshes = document["meshes"]?.arrayValue ?? []
        let nodes = document["nodes"]?.arrayValue ?? []
        let curveIndex = Dictionary(clip.channelNames.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        var used = Set<Int>()
        var animatedMeshes: [String] = []
        var unanimated: [String] = []
        var channels: [(sampler: JSONValue, node: Int)] = []
        for (meshIndex, mesh) in meshes.enumerated() {
            guard let names = try targetNames(mesh, index: meshIndex) else { continue }
            let slots = names.map { curveIndex[$0] }
            guard slots.contains(where: { $0 != nil }) else { continue }
            let users = nodes.indices.filter { nodes[$0]["mesh"]?.intValue == meshIndex }
            guard !users.isEmpty else { continue }
            let sampler = try builder.addWeightsSampler(clip, slots: slots)
            for node in users { channels.append((sampler, node)) }
            for slot in slots.compactMap({ $0 }) { used.insert(slot) }
            animatedMeshes.append(mesh["name"]?.stringValue ?? "mesh \(meshIndex)")
            for (name, slot) in zip(names, slots) where slot == nil && !unanimated.contains(name) { unanimated.append(name) }
        }
        guard !channels.isEmpty else {
            throw ExportError(
                "rig.noMatch",
                "\(url.path): no mesh used by a node has morph targets (extras.targetNames) named like the clip's blendshapes, e.g. \"\(clip.channelNames[0])\"")
        }
        builder.addAnimation(clip, channels: channels)
        return RigMatchReport(
            rigModel: url.path, animatedMeshes: animatedMeshes,
            matchedBlendshapes: clip.channelNames.enumerated().filter { used.contains($0.offset) }.map(\.element),
            unmatchedBlendshapes: clip.channelNames.enumerated().filter { !used.contains($0.offset) }.map(\.element),
            unanimatedTargets: unanimated, notes: notes)
    }

    /// Bytes behind a buffer or image URI: a base64 data URI, or a relative file path.
    private static func resolve(uri: String, in directory: URL, label: String) throws -> (bytes: [UInt8], mimeType: String?) {
        if uri.hasPrefix("data:") {
            guard let comma = uri.firstIndex(of: ","), uri[..<comma].hasSuffix(";base64"),
                let decoded = Data(base64Encoded: String(uri[uri.index(after: comma)...]))
            else { throw ExportError("rig.uri", "\(label): data URI is not valid base64") }
            let header = uri[uri.index(uri.startIndex, offsetBy: 5)..<comma].dropLast(";base64".count)
            return ([UInt8](decoded), header.isEmpty ? nil : String(header))
        }
        guard !uri.contains("://"), !uri.hasPrefix("/"), let path = uri.removingPercentEncoding else {
            throw ExportError("rig.uri", "\(label): only relative file paths and data URIs are supported, found \"\(uri)\"")
        }
        let file = directory.appendingPathComponent(path)
        guard let data = FileManager.default.contents(atPath: file.path) else {
            throw ExportError("rig.uri", "\(label): cannot read \(file.path)")
        }
        return ([UInt8](data), nil)
    }

    private static func imageType(_ bytes: [UInt8]) -> String? {
        if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]) { return "image/png" }
        if bytes.starts(with: [0xFF, 0xD8, 0xFF]) { return "image/jpeg" }
        return nil
    }
}
