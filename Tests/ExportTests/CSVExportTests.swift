import Common
import CSVExport
import Curves
import ExportKit
import Foundation
import JSONIO
import Testing
import TestSupport

@Suite struct CSVExportTests {
    static let names = ["jawOpen", "mouth,Smile \"L\"", "browInnerUp", "eyeBlinkLeft", "cheekPuff"]

    private func render(_ clip: AnimationClip, _ layout: CSVLayout) throws -> (URL, Data) {
        let files = try CSVExporter(layout: layout).render(clip, baseName: clip.name)
        #expect(files.map(\.suffix) == [".csv"])
        let directory = try writeScratch(files.map { ($0.suffix, $0.data) }, baseName: clip.name, label: "csv")
        return (directory.appendingPathComponent(clip.name + ".csv"), files[0].data)
    }

    @Test(arguments: Interpolation.allCases)
    func wideReadByPandas(interpolation: Interpolation) throws {
        let clip = TestClips.make(interpolation: interpolation, frames: 17, names: Self.names)
        let (url, _) = try render(clip, .wide)
        let table = try Readers.json("read_csv.py", [url.path, "wide"])
        #expect(table["channels"]?.arrayValue?.compactMap(\.stringValue) == Self.names)
        let frames = table["frame"]?.arrayValue?.compactMap(\.intValue) ?? []
        #expect(frames == Array(0..<17), "wide CSV must hold every output frame")
        let times = Readers.doubles(table["time"])
        let rows = table["values"]?.arrayValue ?? []
        try #require(rows.count == 17 && times.count == 17)
        for frame in 0..<17 {
            let time = clip.frameRate.time(ofFrame: frame)
            #expect(abs(times[frame] - time) < 1e-6)
            let values = Readers.doubles(rows[frame])
            for (index, curve) in clip.curves.enumerated() {
                let expected = curve.value(at: time, interpolation: interpolation)
                #expect(abs(values[index] - expected) < 1e-6, "frame \(frame) \(curve.name): \(values[index]) vs \(expected)")
            }
        }
    }

    @Test func longReadByPandas() throws {
        let clip = TestClips.make(interpolation: .cubic, frames: 17, names: Self.names)
        let (url, _) = try render(clip, .long)
        let table = try Readers.json("read_csv.py", [url.path, "long"])
        let times = Readers.doubles(table["time"])
        let channels = table["channel"]?.arrayValue?.compactMap(\.stringValue) ?? []
        let values = Readers.doubles(table["value"])
        let keyCount = clip.curves.reduce(0) { $0 + $1.keys.count }
        try #require(times.count == keyCount && channels.count == keyCount && values.count == keyCount)
        #expect(times == times.sorted(), "long rows are sorted by time")
        for row in 0..<keyCount {
            let curve = try #require(clip.curves.first(where: { $0.name == channels[row] }))
            let key = try #require(curve.keys.first(where: { abs($0.time - times[row]) < 1e-6 }))
            #expect(abs(key.value - values[row]) < 1e-6)
        }
    }

    @Test(arguments: Interpolation.allCases)
    func unrealReadByPandas(interpolation: Interpolation) throws {
        let clip = TestClips.make(interpolation: interpolation, frames: 17, names: Self.names)
        let (url, data) = try render(clip, .unreal)
        #expect(String(decoding: data, as: UTF8.self).hasPrefix("Name,0.000000,"))
        let table = try Readers.json("read_csv.py", [url.path, "unreal"])
        #expect(table["channels"]?.arrayValue?.compactMap(\.stringValue) == Self.names)
        let times = Readers.doubles(table["times"])
        let expectedTimes = interpolation == .cubic ? clip.outputFrameTimes : clip.unionKeyTimes
        try #require(times.count == expectedTimes.count)
        for (time, expected) in zip(times, expectedTimes) { #expect(abs(time - expected) < 1e-6) }
        let rows = table["values"]?.arrayValue ?? []
        for (index, curve) in clip.curves.enumerated() {
            let values = Readers.doubles(rows[index])
            for (column, time) in expectedTimes.enumerated() {
                #expect(abs(values[column] - curve.value(at: time, interpolation: interpolation)) < 1e-6)
            }
            // Between two columns, linear and step interpolation of the table reproduce the curve.
            if interpolation != .cubic {
                for column in 0..<(expectedTimes.count - 1) {
                    let t = (expectedTimes[column] + expectedTimes[column + 1]) / 2
                    let reconstructed = interpolation == .step
                        ? values[column] : (values[column] + values[column + 1]) / 2
                    #expect(abs(reconstructed - curve.value(at: t, interpolation: interpolation)) < 1e-5)
                }
            }
        }
    }

    @Test func formatIsFixedDecimalsLFAndQuoted() throws {
        let clip = TestClips.make(interpolation: .linear, frames: 4, names: ["a", "b,c", "d\"e"])
        let data = try CSVExporter(layout: .wide).render(clip, baseName: "x")[0].data
        let text = String(decoding: data, as: UTF8.self)
        #expect(!text.contains("\r"))
        #expect(text.hasSuffix("\n"))
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines[0] == "frame,time,a,\"b,c\",\"d\"\"e\"")
        #expect(lines[1].hasPrefix("0,0.000000,"))
        #expect(lines[2].hasPrefix("1,0.033333,"))
        #expect(lines.count == 4 + 2)
    }

    @Test(arguments: CSVLayout.allCases)
    func goldenAndDeterministic(layout: CSVLayout) throws {
        let clip = TestClips.make(interpolation: .cubic, frames: 10)
        let first = try CSVExporter(layout: layout).render(clip, baseName: "small")[0].data
        let second = try CSVExporter(layout: layout).render(TestClips.make(interpolation: .cubic, frames: 10), baseName: "small")[0].data
        #expect(first == second)
        try Golden.check(first, format: "csv", file: "small-\(layout.rawValue).csv")
    }

    @Test func refusesBrokenClips() throws {
        var clip = TestClips.make(interpolation: .linear, frames: 5)
        clip.curves[1].keys = []
        #expect(throws: ExportError.self) { try CSVExporter().render(clip, baseName: "x") }
        clip = TestClips.make(interpolation: .linear, frames: 5)
        clip.curves[0].keys[1].value = .nan
        do {
            _ = try CSVExporter().render(clip, baseName: "x")
            Issue.record("rendered a NaN value")
        } catch let error as ExportError {
            #expect(error.code == "clip.keyValue")
            #expect(error.message.contains("jawOpen"))
        }
        clip = TestClips.make(interpolation: .linear, frames: 5)
        clip.curves[2].name = clip.curves[0].name
        #expect(throws: ExportError.self) { try CSVExporter().render(clip, baseName: "x") }
    }
}
