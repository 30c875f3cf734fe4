import Curves
import ExportKit
import Foundation

/// glTF 2.0 export (in progress: not written yet; render throws).
public struct GLTFExporter: Exporter {
    public var binary: Bool
    public var rigModel: URL?

    public init(binary: Bool = true, rigModel: URL? = nil) {
        self.binary = binary
        self.rigModel = rigModel
    }

    public func render(_ clip: AnimationClip, baseName: String) throws -> [ExportedFile] {
        try renderWithRigReport(clip, baseName: baseName).files
    }

    public func renderWithRigReport(_ clip: AnimationClip, baseName: String) throws -> (files: [ExportedFile], report: RigMatchReport?) {
        throw ExportError("format.unavailable", "glTF export is not available yet in this build")
    }
}

public struct RigMatchReport: Sendable {
    public var warnings: [String]
}
