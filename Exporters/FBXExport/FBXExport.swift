import Curves
import ExportKit
import Foundation

/// FBX 7.4 ASCII export (in progress: not written yet; render throws).
public struct FBXExporter: Exporter {
    public init() {}

    public func render(_ clip: AnimationClip, baseName: String) throws -> [ExportedFile] {
        throw ExportError("format.unavailable", "FBX export is not available yet in this build")
    }
}
