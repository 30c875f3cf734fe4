import Curves
import ExportKit
import Foundation
import GLTFExport
import JSONIO
import Testing
import TestSupport

/// The output frame rates every exporter must place keys on exactly.
let listedFrameRates: [FrameRate] = [24, 25, 30, 48, 50, 60, 120].map { FrameRate(numerator: $0) }
    + [FrameRate(numerator: 30000, denominator: 1001)]

@Suite struct GLTFExportTests {
    private func render(_ clip: AnimationClip, binary: Bool, label: String) throws -> (URL, [ExportedFile]) {
        let files = try GLTFExporter(binary: binary).render(clip, baseName: clip.name)
        #expect(files.map(\.suffix) == (binary ? [".glb"] : [".gltf", ".bin"]))
        let directory = try writeScratch(files.map { ($0.suffix, $0.data) }, baseName: clip.name, label: label)
        return (directory.appendingPathComponent(clip.name + (binary ? ".glb" : ".gltf")), files)
    }

    /// pygltflib decodes the accessors; the script evaluates the sampler per the spec.
    @Test(arguments: Interpolation.allCases, [true, false])
    func readByPygltflib(interpolation: Interpolation, binary: Bool) throws {
        let clip = TestClips.make(interpolation: interpolation, frames: 16)
        let (url, _) = try render(clip, binary: binary, label: "gltf-py")
        // The split cubic segments are exact, so even cubic values match between keys here.
        let times = TestClips.checkTimes(clip, betweenFrames: true)
        let result = try Readers.json("read_gltf.py", [url.path, try JSONCodec.serialize(.array(times.map { .number($0) }), style: .compact)])
        let channels = result["channels"]?.arrayValue ?? []
        try #require(channels.count == 1)
        let channel = channels[0]
        #expect(channel["targetNames"]?.arrayValue?.compactMap(\.stringValue) == clip.channelNames)
        #expect(channel["interpolation"]?.stringValue == ["linear": "LINEAR", "step": "STEP", "cubic": "CUBICSPLINE"][interpolation.rawValue])
        let input = Readers.doubles(channel["input"])
        #expect(Readers.doubles(channel["inputMin"]) == [input.first ?? -1])
        #expect(Readers.doubles(channel["inputMax"]) == [input.last ?? -1])
        #expect(abs((input.last ?? 0) - clip.duration) < 1e-6, "the animation spans the clip")
        let rows = channel["values"]?.arrayValue ?? []
        try #require(rows.count == times.count)
        for (time, row) in zip(times, rows) {
            let values = Readers.doubles(row)
            for (index, curve) in clip.curves.enumerated() {
                let expected = curve.value(at: time, interpolation: interpolation)
                #expect(abs(values[index] - expected) < 1e-3, "\(curve.name) at \(time): \(values[index]) vs \(expected)")
            }
        }
        for accessor in result["accessors"]?.arrayValue ?? [] {
            #expect((accessor["byteOffset"]?.intValue ?? 1) % 4 == 0)
        }
        #expect(result["animationExtras"]?["source"]?.stringValue == "small.json")
        #expect(result["animationExtras"]?["frameRate"]?.stringValue == "30")
    }

    /// Blender imports the files (one Blender run for all of them) and its shape-key curves
    /// give the clip's values: at every output frame for linear and step, at keys for cubic
    /// (Blender rebuilds cubic handles itself). Key frames sit at time x fps for every listed rate.
    @Test func readByBlender() throws {
        let directory = Scratch.directory("gltf-blender")
        var cases: [(clip: AnimationClip, url: URL, times: [Double])] = []
        for (index, rate) in listedFrameRates.enumerated() {
            let interpolation = Interpolation.allCases[index % 3]
            let clip = TestClips.make(interpolation: interpolation, frameRate: rate, frames: 14, name: "rate\(index)")
            let binary = index % 2 == 0
            let files = try GLTFExporter(binary: binary).render(clip, baseName: clip.name)
            try ExportWriter.write(files, baseName: clip.name, in: directory)
            let url = directory.appendingPathComponent(clip.name + (binary ? ".glb" : ".gltf"))
            let times = interpolation == .cubic ? TestClips.keyTimes(clip) : TestClips.checkTimes(clip, betweenFrames: true)
            cases.append((clip, url, times))
        }
        let requests: [JSONValue] = cases.map { item in
            let rate = item.clip.frameRate
            let fps = Int(rate.framesPerSecond.rounded())
            return [
                "file": .string(item.url.path), "fps": .integer(Int64(fps)),
                "fpsBase": .number(Double(fps) / rate.framesPerSecond),
                "times": .array(item.times.map { .number($0) }),
            ]
        }
        let requestsURL = directory.appendingPathComponent("requests.json")
        try JSONCodec.serializedData(.array(requests)).write(to: requestsURL)
        let script = TestPaths.readers.appendingPathComponent("blender_read_gltf.py").path
        let output = try Readers.command("blender", ["-b", "--factory-startup", "--python", script, "--", requestsURL.path])
        let results = output["results"]?.arrayValue ?? []
        try #require(results.count == cases.count)
        for (item, result) in zip(cases, results) {
            let fps = Double(Int(item.clip.frameRate.framesPerSecond.rounded()))
            let curves = try #require(result["curves"]?.objectValue)
            let keyFrames = try #require(result["keyFrames"]?.objectValue)
            for curve in item.clip.curves {
                let label = try #require(curves.keys.first(where: { $0.hasSuffix("/" + curve.name) }), "no Blender curve for \(curve.name)")
                let values = Readers.doubles(curves[label])
                for (time, value) in zip(item.times, values) {
                    let expected = curve.value(at: time, interpolation: item.clip.interpolation)
                    #expect(abs(value - expected) < 1e-3, "\(item.url.lastPathComponent) \(curve.name) at \(time): \(value) vs \(expected)")
                }
                let frames = Readers.doubles(keyFrames[label])
                let axis = Set(item.clip.curves.flatMap { $0.keys.map(\.time) } + [0, item.clip.duration]).sorted()
                #expect(frames.count == axis.count)
                for (frame, time) in zip(frames, axis) {
                    #expect(abs(frame - time * fps) < 1e-3, "\(item.url.lastPathComponent): key at frame \(frame), expected \(time * fps)")
                }
            }
        }
    }

    @Test(arguments: Interpolation.allCases)
    func gltfpackAcceptsIt(interpolation: Interpolation) throws {
        let clip = TestClips.make(interpolation: interpolation, frames: 12)
        for binary in [true, false] {
            let (url, _) = try render(clip, binary: binary, label: "gltfpack")
            let packed = url.deletingLastPathComponent().appendingPathComponent("packed.glb")
            let result = try TestProcess.run("gltfpack", ["-i", url.path, "-o", packed.path])
            #expect(result.status == 0, "gltfpack: \(result.standardError)")
        }
    }

    /// Every listed frame rate: the animation input holds exactly the key times n / fps.
    @Test(arguments: listedFrameRates)
    func keyTimesOnEveryFrameRate(rate: FrameRate) throws {
        let clip = TestClips.make(interpolation: .linear, frameRate: rate, frames: 40)
        let files = try GLTFExporter(binary: true).render(clip, baseName: "x")
        let document = try GLBFile(files[0].data)
        let input = try document.floats(accessor: document.animationInput)
        let expected = Set(clip.curves.flatMap { $0.keys.map(\.time) } + [0, clip.duration]).sorted()
        #expect(input.count == expected.count)
        for (value, time) in zip(input, expected) { #expect(value == Float(time)) }
        for frame in [0, 7, 39] where expected.contains(rate.time(ofFrame: frame)) {
            #expect(input.contains(Float(Double(frame) * Double(rate.denominator) / Double(rate.numerator))))
        }
    }

    /// The rules no local tool checks for us: GLB framing and padding, 4-byte alignment,
    /// min/max on POSITION and on animation inputs, counts, no duplicate node+path targets.
    @Test(arguments: Interpolation.allCases)
    func specRules(interpolation: Interpolation) throws {
        let clip = TestClips.make(interpolation: interpolation, frames: 20)
        let data = try GLTFExporter(binary: true).render(clip, baseName: "x")[0].data
        let glb = try GLBFile(data)
        #expect(glb.declaredLength == data.count)
        #expect(glb.jsonChunkLength % 4 == 0 && glb.binChunkLength % 4 == 0)
        #expect(glb.jsonPadding.allSatisfy { $0 == 0x20 })
        let json = glb.json
        #expect(json["asset"]?["version"]?.stringValue == "2.0")
        let accessors = json["accessors"]?.arrayValue ?? []
        let views = json["bufferViews"]?.arrayValue ?? []
        for view in views {
            #expect((view["byteOffset"]?.intValue ?? 1) % 4 == 0)
            #expect((view["byteOffset"]?.intValue ?? 0) + (view["byteLength"]?.intValue ?? 0) <= glb.binaryByteLength)
        }
        let mesh = try #require(json["meshes"]?.arrayValue?.first)
        let primitive = try #require(mesh["primitives"]?.arrayValue?.first)
        let targets = primitive["targets"]?.arrayValue ?? []
        #expect(targets.count == clip.curves.count)
        #expect(mesh["weights"]?.arrayValue?.count == clip.curves.count)
        let positions = [primitive["attributes"]?["POSITION"]] + targets.map { $0["POSITION"] }
        for position in positions {
            let positionIndex = try #require(position?.intValue)
            let accessor = try #require(accessors[positionIndex].objectValue)
            #expect(accessor["min"]?.arrayValue?.count == 3 && accessor["max"]?.arrayValue?.count == 3)
            // The bounds are the true bounds of the stored data.
            let values = try glb.floats(accessor: positionIndex)
            for axis in 0..<3 {
                let column = stride(from: axis, to: values.count, by: 3).map { values[$0] }
                #expect(Double(column.min()!) == accessor["min"]?.arrayValue?[axis].doubleValue)
                #expect(Double(column.max()!) == accessor["max"]?.arrayValue?[axis].doubleValue)
            }
        }
        let animation = try #require(json["animations"]?.arrayValue?.first)
        let sampler = try #require(animation["samplers"]?.arrayValue?.first)
        let input = try #require(sampler["input"]?.intValue)
        let output = try #require(sampler["output"]?.intValue)
        let inputCount = try #require(accessors[input]["count"]?.intValue)
        #expect(accessors[input]["min"] != nil && accessors[input]["max"] != nil)
        #expect(accessors[output]["count"]?.intValue == inputCount * clip.curves.count * (interpolation == .cubic ? 3 : 1))
        let times = try glb.floats(accessor: input)
        #expect(zip(times, times.dropFirst()).allSatisfy { $0 < $1 }, "input times strictly increase")
        let channelTargets = (animation["channels"]?.arrayValue ?? []).map {
            "\($0["target"]?["node"]?.intValue ?? -1)/\($0["target"]?["path"]?.stringValue ?? "")"
        }
        #expect(Set(channelTargets).count == channelTargets.count)
        if interpolation == .cubic {
            let outputs = try glb.floats(accessor: output)
            let width = clip.curves.count
            #expect(outputs.prefix(width).allSatisfy { $0 == 0 }, "first in-tangents are zero")
            #expect(outputs.suffix(width).allSatisfy { $0 == 0 }, "last out-tangents are zero")
        }
    }

    @Test func gltfRefersToItsBinFile() throws {
        let clip = TestClips.make(interpolation: .linear, frames: 5, name: "line 01 é")
        let files = try GLTFExporter(binary: false).render(clip, baseName: clip.name)
        let json = try JSONCodec.parse(files[0].data, source: "x.gltf")
        #expect(json["buffers"]?.arrayValue?.first?["uri"]?.stringValue == "line%2001%20%C3%A9.bin")
        #expect(json["buffers"]?.arrayValue?.first?["byteLength"]?.intValue == files[1].data.count)
    }

    @Test func goldenAndDeterministic() throws {
        for binary in [true, false] {
            let first = try GLTFExporter(binary: binary).render(TestClips.make(interpolation: .cubic, frames: 6), baseName: "small")
            let second = try GLTFExporter(binary: binary).render(TestClips.make(interpolation: .cubic, frames: 6), baseName: "small")
            #expect(first == second)
            for file in first { try Golden.check(file.data, format: "gltf", file: "small" + file.suffix) }
        }
    }
}

/// A minimal GLB reader for the spec checks (independent of the exporter's own code).
struct GLBFile {
    let declaredLength: Int
    let jsonChunkLength: Int
    let binChunkLength: Int
    let jsonPadding: [UInt8]
    let json: JSONValue
    let binary: [UInt8]
    var binaryByteLength: Int { json["buffers"]?.arrayValue?.first?["byteLength"]?.intValue ?? 0 }

    init(_ data: Data) throws {
        let bytes = [UInt8](data)
        func word(_ offset: Int) -> Int {
            Int(bytes[offset]) | Int(bytes[offset + 1]) << 8 | Int(bytes[offset + 2]) << 16 | Int(bytes[offset + 3]) << 24
        }
        try #require(Array(bytes[0..<4]) == Array("glTF".utf8))
        try #require(word(4) == 2)
        declaredLength = word(8)
        jsonChunkLength = word(12)
        try #require(word(16) == 0x4E4F_534A)
        let jsonBytes = Array(bytes[20..<(20 + jsonChunkLength)])
        let text = String(decoding: jsonBytes, as: UTF8.self)
        let end = text.lastIndex(of: "}").map { text.utf8.distance(from: text.startIndex, to: $0) + 1 } ?? jsonBytes.count
        jsonPadding = Array(jsonBytes[end...].filter { $0 != 0x0A })
        json = try JSONCodec.parse(Data(jsonBytes), source: "x.glb")
        let binStart = 20 + jsonChunkLength
        binChunkLength = word(binStart)
        try #require(word(binStart + 4) == 0x004E_4942)
        binary = Array(bytes[(binStart + 8)..<(binStart + 8 + binChunkLength)])
    }

    var animationInput: Int { json["animations"]?.arrayValue?.first?["samplers"]?.arrayValue?.first?["input"]?.intValue ?? -1 }

    func floats(accessor index: Int) throws -> [Float] {
        let accessor = try #require(json["accessors"]?.arrayValue?[index])
        let viewIndex = try #require(accessor["bufferView"]?.intValue)
        let view = try #require(json["bufferViews"]?.arrayValue?[viewIndex])
        let start = (view["byteOffset"]?.intValue ?? 0) + (accessor["byteOffset"]?.intValue ?? 0)
        let width = ["SCALAR": 1, "VEC3": 3][accessor["type"]?.stringValue ?? ""] ?? 1
        let elements = try #require(accessor["count"]?.intValue)
        let count = elements * width
        return (0..<count).map { i in
            let o = start + 4 * i
            return Float(bitPattern: UInt32(binary[o]) | UInt32(binary[o + 1]) << 8 | UInt32(binary[o + 2]) << 16 | UInt32(binary[o + 3]) << 24)
        }
    }
}
