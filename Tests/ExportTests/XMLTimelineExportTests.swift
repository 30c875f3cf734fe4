import Curves
import ExportKit
import Foundation
import Testing
import TestSupport
import XMLIO
import XMLTimelineExport

@Suite struct XMLTimelineExportTests {
    /// The schema as committed beside the exporter.
    static let schema = TestPaths.repositoryRoot.appendingPathComponent("Exporters/XMLTimelineExport/timeline.xsd")

    private func render(_ clip: AnimationClip) throws -> (URL, Data) {
        let files = try XMLTimelineExporter().render(clip, baseName: clip.name)
        #expect(files.map(\.suffix) == [".xml"])
        let directory = try writeScratch(files.map { ($0.suffix, $0.data) }, baseName: clip.name, label: "xml")
        return (directory.appendingPathComponent(clip.name + ".xml"), files[0].data)
    }

    @Test func bundledSchemaIsTheCommittedOne() throws {
        let bundled = try #require(XMLTimelineExporter.schemaURL)
        #expect(try Data(contentsOf: bundled) == Data(contentsOf: Self.schema))
    }

    @Test(arguments: Interpolation.allCases)
    func validatesWithLibxml2AndXmllint(interpolation: Interpolation) throws {
        let clip = TestClips.make(interpolation: interpolation, frames: 12)
        let (url, data) = try render(clip)
        #expect(try XMLDocument.validate(data, source: url.lastPathComponent, schema: Self.schema) == nil)
        let lint = try TestProcess.run("xmllint", ["--noout", "--schema", Self.schema.path, url.path])
        #expect(lint.status == 0, "xmllint: \(lint.standardError)")
    }

    @Test func xmllintRefusesABrokenFile() throws {
        let clip = TestClips.make(interpolation: .linear, frames: 6)
        let (url, data) = try render(clip)
        // An interpolation the schema does not know, and a mixture share above 1.
        var text = String(decoding: data, as: UTF8.self)
        text = text.replacingOccurrences(of: "interpolation=\"linear\"/>", with: "interpolation=\"bezier\"/>")
        try Data(text.utf8).write(to: url)
        let lint = try TestProcess.run("xmllint", ["--noout", "--schema", Self.schema.path, url.path])
        #expect(lint.status == 3)
        let original = String(decoding: data, as: UTF8.self)
        let mixture = try #require(original.range(of: "mixture=\"0."))
        let overOne = original.replacingCharacters(in: mixture, with: "mixture=\"1.5")
        #expect(try XMLDocument.validate(Data(overOne.utf8), source: "x.xml", schema: Self.schema) != nil)
    }

    @Test func xpathReadsValues() throws {
        let clip = TestClips.make(interpolation: .cubic, frames: 12)
        let (url, _) = try render(clip)
        func xpath(_ expression: String) throws -> String {
            let result = try TestProcess.run("xmllint", ["--xpath", expression, url.path])
            #expect(result.status == 0, "xmllint --xpath \(expression): \(result.standardError)")
            return result.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let curve = clip.curves[0]
        for (index, key) in curve.keys.enumerated() {
            let base = "//*[local-name()='curve'][@name='\(curve.name)']/*[local-name()='key'][\(index + 1)]"
            #expect(abs(try #require(Double(try xpath("string(\(base)/@value)"))) - key.value) < 1e-6)
            #expect(abs(try #require(Double(try xpath("string(\(base)/@time)"))) - key.time) < 1e-6)
            #expect(abs(try #require(Double(try xpath("string(\(base)/@outTangent)"))) - key.outTangent) < 1e-6)
        }
        let mixture = clip.emotions.mixture(frame: 5)
        let shares = try xpath("string(//*[local-name()='frame'][@frame='5']/@mixture)").split(separator: " ").compactMap { Double($0) }
        try #require(shares.count == mixture.count)
        for (share, expected) in zip(shares, mixture) { #expect(abs(share - expected) < 1e-6) }
        let happyIndex = try xpath("string(//*[local-name()='emotion'][@name='happy']/@index)")
        #expect(happyIndex == "1")
        let concentration = try xpath("string(//*[local-name()='frame'][@frame='5']/@concentration)")
        #expect(abs(try #require(Double(concentration)) - clip.emotions.concentration(frame: 5)) < 1e-6)
    }

    @Test func parsesBackToTheClip() throws {
        let clip = TestClips.make(interpolation: .step, frameRate: FrameRate(numerator: 30000, denominator: 1001), frames: 9)
        let (_, data) = try render(clip)
        let root = try XMLDocument.parse(data, source: "x.xml")
        #expect(root.name == "timeline")
        #expect(root.attribute("xmlns") == nil || root.attribute("xmlns") == XMLTimelineExporter.namespace)
        #expect(root.attribute("version") == "1.0")
        #expect(root.child(named: "source")?.text == "small.json")
        #expect(root.child(named: "model")?.text == "tiny")
        #expect(root.child(named: "rig")?.text == "test-rig")
        let settings = root.child(named: "settings")?.children(named: "setting") ?? []
        #expect(settings.map { $0.attribute("key") ?? "" } == clip.metadata.settings.map(\.key))
        let output = try #require(root.child(named: "output"))
        #expect(output.attribute("frameRate") == "29.97")
        #expect(output.attribute("frameRateNumerator") == "30000")
        #expect(output.attribute("frameRateDenominator") == "1001")
        #expect(output.attribute("frameCount") == "9")
        #expect(output.attribute("interpolation") == "step")
        let emotions = try #require(root.child(named: "emotions"))
        #expect(emotions.children(named: "emotion").map { $0.attribute("name") ?? "" } == TestClips.emotionNames)
        let frames = emotions.children(named: "frame")
        #expect(frames.map { $0.attribute("frame") ?? "" } == (0..<9).map(String.init))
        for (index, frame) in frames.enumerated() {
            let values = (frame.attribute("mixture") ?? "").split(separator: " ").compactMap { Double($0) }
            let expected = clip.emotions.mixture(frame: index)
            #expect(values.count == expected.count)
            for (value, want) in zip(values, expected) { #expect(abs(value - want) < 1e-6) }
        }
        let curves = try #require(root.child(named: "curves")).children(named: "curve")
        #expect(curves.map { $0.attribute("name") ?? "" } == clip.channelNames)
        for (curve, element) in zip(clip.curves, curves) {
            let keys = element.children(named: "key")
            #expect(keys.count == curve.keys.count)
            for (key, keyElement) in zip(curve.keys, keys) {
                #expect(abs((Double(keyElement.attribute("time") ?? "") ?? -1) - key.time) < 1e-6)
                #expect(keyElement.attribute("frame") == String(Int((key.time * 30000 / 1001).rounded())))
                #expect(abs((Double(keyElement.attribute("value") ?? "") ?? -1) - key.value) < 1e-6)
                #expect(keyElement.attribute("interpolation") == "step")
            }
        }
    }

    @Test func goldenAndDeterministic() throws {
        let first = try XMLTimelineExporter().render(TestClips.make(interpolation: .cubic, frames: 6), baseName: "small")[0].data
        let second = try XMLTimelineExporter().render(TestClips.make(interpolation: .cubic, frames: 6), baseName: "small")[0].data
        #expect(first == second)
        try Golden.check(first, format: "xml", file: "small.xml")
    }

    @Test func namesWithMarkupAreEscaped() throws {
        let clip = TestClips.make(interpolation: .linear, frames: 4, names: ["a<b", "c&d", "e\"f"])
        let (_, data) = try render(clip)
        #expect(try XMLDocument.validate(data, source: "x.xml", schema: Self.schema) == nil)
        let root = try XMLDocument.parse(data, source: "x.xml")
        let names = root.child(named: "curves")?.children(named: "curve").map { $0.attribute("name") ?? "" }
        #expect(names == ["a<b", "c&d", "e\"f"])
    }
}
