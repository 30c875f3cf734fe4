import CSVExport
import Curves
import ExportKit
import FBXExport
import Foundation
import GLTFExport
import XMLTimelineExport

/// The CSV table shape (`wide`, `long`, `unreal`), re-exported so that callers of
/// `ExportSettings` need not import CSVExport.
public typealias CSVLayout = CSVExport.CSVLayout

/// Options for every format, set once from the command line or a batch project. Each
/// exporter takes the ones it understands.
public struct ExportSettings: Sendable {
    /// Table shape of `.csv` output.
    public var csvLayout: CSVLayout = .wide
    /// `--rig-model`: the user's own glTF/GLB; glTF output then is that model with the clip
    /// added as an animation on its morph targets (matched by name) instead of EmoBake's
    /// small stand-in mesh.
    public var rigModel: URL? = nil

    public init() {}
}

extension ExportFormat {
    /// The one place that maps a format to its exporter.
    public func makeExporter(_ settings: ExportSettings) -> any Exporter {
        switch self {
        case .glb: return GLTFExporter(binary: true, rigModel: settings.rigModel)
        case .gltf: return GLTFExporter(binary: false, rigModel: settings.rigModel)
        case .fbx: return FBXExporter()
        case .csv: return CSVExporter(layout: settings.csvLayout)
        case .xml: return XMLTimelineExporter()
        }
    }
}

/// An exporter that can tell the user what it could not carry over (today: glTF with a rig
/// model reports blendshapes of the clip that match no morph target). Warnings are one line
/// each and never stop the export.
public protocol ExportWarnings: Exporter {
    /// Renders exactly like `render(_:baseName:)` and also returns the warnings.
    func renderWithWarnings(_ clip: AnimationClip, baseName: String) throws -> (files: [ExportedFile], warnings: [String])
}

extension Exporter {
    /// Renders and collects warnings; exporters without warnings return none. This is what
    /// the command line and the batch tool call:
    ///
    ///     let exporter = ExportFormat.glb.makeExporter(settings)
    ///     let (files, warnings) = try exporter.renderReportingWarnings(clip, baseName: "line_001")
    ///     try ExportWriter.write(files, baseName: "line_001", in: outputDirectory)
    ///     for warning in warnings { print("warning: \(warning)") }
    public func renderReportingWarnings(_ clip: AnimationClip, baseName: String) throws
        -> (files: [ExportedFile], warnings: [String])
    {
        if let reporting = self as? any ExportWarnings {
            return try reporting.renderWithWarnings(clip, baseName: baseName)
        }
        return (try render(clip, baseName: baseName), [])
    }
}

extension GLTFExporter: ExportWarnings {
    public func renderWithWarnings(_ clip: AnimationClip, baseName: String) throws
        -> (files: [ExportedFile], warnings: [String])
    {
        let (files, report) = try renderWithRigReport(clip, baseName: baseName)
        return (files, report?.warnings ?? [])
    }
}
