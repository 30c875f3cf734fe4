import Common
import Curves
import ExportKit
import Foundation
import JSONIO

/// Writes a clip as glTF 2.0: `.glb` (binary container) or `.gltf` + `.bin`.
///
/// Without a rig model the file holds a small stand-in mesh (a quad) with one morph target
/// per blendshape, named in `mesh.extras.targetNames` (the convention Blender, three.js and
/// Babylon read), default `mesh.weights` of 0, one node, and one animation whose single
/// channel drives the node's `weights`. With `rigModel`, the user's own glTF/GLB is copied
/// and the animation is added to every node whose mesh has morph targets named like the
/// clip's blendshapes (see `RigMatchReport`).
///
/// glTF keeps one time axis for all weights of a node, so every curve is evaluated at the
/// union of all key times (plus 0 and the clip duration): exact for LINEAR and STEP, and for
/// CUBICSPLINE each Hermite segment is split exactly (value and per-second derivative at the
/// new times, which the spec scales by the segment length when evaluating). Times and values
/// are float32; accessors carry min/max where the spec requires them, buffer views are 4-byte
/// aligned and GLB chunks padded. Clip metadata sits in the animation's `extras`.
public struct GLTFExporter: Exporter {
    /// `true`: one `.glb`; `false`: `.gltf` (JSON) + `.bin`.
    public var binary: Bool
    /// The user's own `.glb`/`.gltf` to add the animation to, or nil for the stand-in mesh.
    public var rigModel: URL?

    public init(binary: Bool = true, rigModel: URL? = nil) {
        self.binary = binary
        self.rigModel = rigModel
    }

    public func render(_ clip: AnimationClip, baseName: String) throws -> [ExportedFile] {
        try renderWithRigReport(clip, baseName: baseName).files
    }

    /// Renders and, with a rig model, says which blendshapes found morph targets (the report
    /// is nil without a rig model).
    public func renderWithRigReport(_ clip: AnimationClip, baseName: String) throws
        -> (files: [ExportedFile], report: RigMatchReport?)
    {
        try clip.validateForExport()
        if let rigModel {
            let rig = try RigModel.load(rigModel)
            var builder = GLTFBuilder(document: rig.document, binary: rig.binary)
            let report = try rig.addAnimation(clip, to: &builder)
            return (try builder.finish(binary: binary, baseName: baseName), report)
        }
        var builder = GLTFBuilder(document: Self.standInDocument(clip), binary: [])
        let mesh = builder.addStandInMesh(targetNames: clip.channelNames)
        builder.setNodes([["name": .string(clip.name), "mesh": .integer(Int64(mesh))]])
        let sampler = try builder.addWeightsSampler(clip, slots: Array(clip.curves.indices))
        builder.addAnimation(clip, channels: [(sampler: sampler, node: 0)])
        return (try builder.finish(binary: binary, baseName: baseName), nil)
    }

    private static func standInDocument(_ clip: AnimationClip) -> JSONObject {
        JSONObject([
            ("asset", ["version": "2.0", "generator": .string(clip.metadata.generator)]),
            ("scene", 0),
            ("scenes", [["name": .string(clip.name), "nodes": [0]]]),
        ])
    }
}

extension Interpolation {
    /// The glTF sampler interpolation name.
    var gltfName: String {
        switch self {
        case .linear: return "LINEAR"
        case .step: return "STEP"
        case .cubic: return "CUBICSPLINE"
        }
    }
}
