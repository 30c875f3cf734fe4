import Curves
import ExportKit
import FBXExport
import Foundation
import JSONIO
import Testing
import TestSupport

@Suite struct FBXExportTests {
    private func render(_ clip: AnimationClip, label: String) throws -> URL {
        let files = try FBXExporter().render(clip, baseName: clip.name)
        #expect(files.map(\.suffix) == [".fbx"])
        let directory = try writeScratch(files.map { ($0.suffix, $0.data) }, baseName: clip.name, label: label)
        return directory.appendingPathComponent(clip.name + ".fbx")
    }

    private func ufbx(_ url: URL, times: [Double]) throws -> JSONValue {
        try Readers.json("read_fbx_ufbx.py", [url.path, try JSONCodec.serialize(.array(times.map { .number($0) }), style: .compact)])
    }

    /// ufbx evaluates the blend channels. Step values are read just after each time (1e-6 s),
    /// because a key time in KTime ticks may convert back a hair above the query time.
    /// Cubic keys use user tangents with 1/3 weights, so ufbx's Bezier is the clip's Hermite
    /// and values match between keys too, not only at keys.
    @Test(arguments: Interpolation.allCases)
    func readByUfbx(interpolation: Interpolation) throws {
        let clip = TestClips.make(interpolation: interpolation, frames: 16)
        let url = try render(clip, label: "fbx-ufbx")
        let times = TestClips.checkTimes(clip, betweenFrames: true)
        let queries = times.map { interpolation == .step ? $0 + 1e-6 : $0 }
        let result = try ufbx(url, times: queries)
        #expect(result["channels"]?.arrayValue?.compactMap(\.stringValue) == clip.channelNames)
        #expect(result["timeMode"]?.intValue == 6)
        #expect(result["framesPerSecond"]?.doubleValue == 30)
        let weights = result["weights"]?.arrayValue ?? []
        try #require(weights.count == clip.curves.count)
        for (curve, row) in zip(clip.curves, weights) {
            let values = Readers.doubles(row)
            try #require(values.count == times.count)
            for (time, value) in zip(times, values) {
                let expected = curve.value(at: time, interpolation: interpolation)
                #expect(abs(value - expected) < 1e-3, "\(curve.name) at \(time): ufbx \(value), clip \(expected)")
            }
        }
    }

    /// assimp turns DeformPercent curves into morph-mesh keys (weights 0-1, only the anim
    /// meshes keyed at that time): every key's time and value must be the clip's.
    @Test(arguments: Interpolation.allCases)
    func readByAssimp(interpolation: Interpolation) throws {
        let clip = TestClips.make(interpolation: interpolation, frames: 16)
        let url = try render(clip, label: "fbx-assimp")
        let result = try Readers.json("read_fbx_assimp.py", [url.path], interpreter: "/usr/bin/python3")
        let meshes = result["meshes"]?.arrayValue ?? []
        try #require(meshes.count == 1)
        let animMeshes = meshes[0]["animMeshes"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(animMeshes == clip.channelNames)
        let channels = result["channels"]?.arrayValue ?? []
        try #require(channels.count == 1)
        var keysByCurve = [[(time: Double, value: Double)]](repeating: [], count: animMeshes.count)
        for key in channels[0]["keys"]?.arrayValue ?? [] {
            let time = key["time"]?.doubleValue ?? -1
            for (index, weight) in zip(key["values"]?.arrayValue ?? [], key["weights"]?.arrayValue ?? []) {
                keysByCurve[index.intValue ?? 0].append((time, weight.doubleValue ?? -1))
            }
        }
        for (curve, keys) in zip(clip.curves, keysByCurve) {
            #expect(keys.count == curve.keys.count, "\(curve.name): assimp has \(keys.count) keys")
            for (key, read) in zip(curve.keys, keys) {
                #expect(abs(read.time - key.time) < 1e-6, "\(curve.name): key at \(read.time), expected \(key.time)")
                #expect(abs(read.value - key.value) < 1e-3, "\(curve.name) at \(key.time): \(read.value) vs \(key.value)")
            }
        }
    }

    /// Every listed rate has its FBX time mode; keys land on n / fps in ufbx and in assimp.
    /// 15 fps has no FBX mode and is written as custom (14) with CustomFrameRate.
    @Test(arguments: listedFrameRates + [FrameRate(numerator: 15)])
    func frameRates(rate: FrameRate) throws {
        let clip = TestClips.make(interpolation: .linear, frameRate: rate, frames: 40, name: "rate")
        let url = try render(clip, label: "fbx-rate")
        let expectedModes = [24: 11, 25: 10, 30: 6, 48: 5, 50: 4, 60: 3, 120: 1, 15: 14]
        let mode = rate.denominator == 1001 ? 9 : expectedModes[rate.numerator]
        #expect(FBXTimeMode.mode(for: rate) == mode)
        let keyTimes = clip.curves.map { $0.keys.map(\.time) }
        let result = try ufbx(url, times: keyTimes.flatMap { $0 })
        #expect(result["timeMode"]?.intValue == mode)
        let fps = try #require(result["framesPerSecond"]?.doubleValue)
        #expect(abs(fps - rate.framesPerSecond) < 0.01, "ufbx reads \(fps) fps")
        let readKeyTimes = (result["keyTimes"]?.arrayValue ?? []).map { Readers.doubles($0) }
        #expect(readKeyTimes.count == keyTimes.count)
        for (read, expected) in zip(readKeyTimes, keyTimes) {
            #expect(read.count == expected.count)
            for (a, b) in zip(read, expected) { #expect(abs(a - b) < 1e-9, "\(rate) fps: ufbx key at \(a), expected \(b)") }
        }
        let assimp = try Readers.json("read_fbx_assimp.py", [url.path], interpreter: "/usr/bin/python3")
        let assimpTimes = Set((assimp["channels"]?.arrayValue?.first?["keys"]?.arrayValue ?? []).compactMap { $0["time"]?.doubleValue })
        let expectedTimes = Set(keyTimes.flatMap { $0 })
        #expect(assimpTimes.count == expectedTimes.count)
        for time in expectedTimes {
            #expect(assimpTimes.contains(where: { abs($0 - time) < 1e-6 }), "\(rate) fps: assimp has no key at \(time)")
        }
    }

    @Test func customRateText() throws {
        let clip = TestClips.make(interpolation: .linear, frameRate: FrameRate(numerator: 15), frames: 5)
        let text = String(decoding: try FBXExporter().render(clip, baseName: "x")[0].data, as: UTF8.self)
        #expect(text.contains("P: \"TimeMode\", \"enum\", \"\", \"\",14\n"))
        #expect(text.contains("P: \"CustomFrameRate\", \"double\", \"Number\", \"\",15\n"))
        let standard = String(
            decoding: try FBXExporter().render(TestClips.make(interpolation: .linear, frames: 5), baseName: "x")[0].data, as: UTF8.self)
        #expect(standard.contains("P: \"CustomFrameRate\", \"double\", \"Number\", \"\",-1\n"))
    }

    /// The array rules ufbx enforces, checked on our own text: declared counts match the
    /// items, KeyTime and KeyValueFloat agree, flags and ref counts agree, 4 data per flag,
    /// and the ref counts add up to the key count.
    @Test(arguments: Interpolation.allCases)
    func curveArraysAreConsistent(interpolation: Interpolation) throws {
        let clip = TestClips.make(interpolation: interpolation, frames: 16)
        let text = String(decoding: try FBXExporter().render(clip, baseName: "x")[0].data, as: UTF8.self)
        let lines = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        var arrays: [(name: String, items: [String])] = []
        for (index, line) in lines.enumerated() where line.hasSuffix("{") && line.contains(": *") {
            let name = String(line[..<line.firstIndex(of: ":")!])
            let declared = Int(line.split(separator: "*")[1].split(separator: " ")[0])!
            let items = lines[index + 1].dropFirst(3).split(separator: ",").map(String.init)
            #expect(items.count == declared, "\(name): *\(declared) but \(items.count) items")
            arrays.append((name, items))
        }
        let curves = arrays.filter { $0.name == "KeyTime" }.count
        #expect(curves == clip.curves.count)
        var index = 0
        for (curveIndex, array) in arrays.enumerated() where array.name == "KeyTime" {
            let values = arrays[curveIndex + 1], flags = arrays[curveIndex + 2], data = arrays[curveIndex + 3]
            let refs = arrays[curveIndex + 4]
            #expect(values.name == "KeyValueFloat" && flags.name == "KeyAttrFlags" && data.name == "KeyAttrDataFloat")
            #expect(values.items.count == array.items.count)
            #expect(flags.items.count == refs.items.count)
            #expect(data.items.count == 4 * refs.items.count)
            #expect(refs.items.compactMap { Int($0) }.reduce(0, +) == array.items.count)
            let curve = clip.curves[index]
            for (tick, key) in zip(array.items, curve.keys) {
                #expect(Int64(tick) == Int64((key.time * 46_186_158_000).rounded()))
            }
            for (value, key) in zip(values.items, curve.keys) { #expect(abs(Double(value)! - key.value * 100) < 1e-5) }
            index += 1
        }
    }

    @Test func goldenAndDeterministic() throws {
        let first = try FBXExporter().render(TestClips.make(interpolation: .cubic, frames: 6), baseName: "small")[0].data
        let second = try FBXExporter().render(TestClips.make(interpolation: .cubic, frames: 6), baseName: "small")[0].data
        #expect(first == second)
        try Golden.check(first, format: "fbx", file: "small.fbx")
    }

    @Test func refusesNamesFBXCannotHold() throws {
        let clip = TestClips.make(interpolation: .linear, frames: 4, names: ["jawOpen", "bad\"name"])
        do {
            _ = try FBXExporter().render(clip, baseName: "x")
            Issue.record("wrote a name with a quote")
        } catch let error as ExportError {
            #expect(error.code == "fbx.name")
            #expect(error.message.contains("bad\"name"))
        }
    }
}
