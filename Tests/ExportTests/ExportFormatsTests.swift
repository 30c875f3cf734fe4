import CSVExport
import Curves
import ExportFormats
import ExportKit
import Foundation
import Testing
import TestSupport

@Suite struct ExportFormatsTests {
    @Test func settingsDefaults() {
        let settings = ExportSettings()
        #expect(settings.csvLayout == .wide)
        #expect(settings.rigModel == nil)
        let layout: CSVLayout = .unreal
        #expect(layout.rawValue == "unreal")
    }

    @Test func csvLayoutReachesTheExporter() throws {
        var settings = ExportSettings()
        settings.csvLayout = .long
        let clip = TestClips.make(interpolation: .linear, frames: 5)
        let files = try ExportFormat.csv.makeExporter(settings).render(clip, baseName: "x")
        #expect(String(decoding: files[0].data, as: UTF8.self).hasPrefix("time,channel,value\n"))
    }

    @Test func writerPutsEveryFileInPlace() throws {
        let clip = TestClips.make(interpolation: .linear, frames: 5)
        let directory = Scratch.directory("formats")
        for format in ExportFormat.allCases {
            let (files, warnings) = try format.makeExporter(ExportSettings()).renderReportingWarnings(clip, baseName: "line")
            #expect(warnings.isEmpty)
            try ExportWriter.write(files, baseName: "line", in: directory)
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        #expect(names == ["line.bin", "line.csv", "line.fbx", "line.glb", "line.gltf", "line.xml"])
    }
}
