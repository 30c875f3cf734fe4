import Curves
import ExportFormats
import ExportKit
import Foundation
import GLTFExport
import JSONIO
import Testing
import TestSupport

/// `--rig-model`: the clip is added to a user's own glTF, matched to morph targets by name.
@Suite struct GLTFRigModelTests {
    /// The clip has jawOpen, mouthSmileLeft, browInnerUp, eyeBlinkLeft. The rig's Head has
    /// mouthSmileLeft, extraTarget, jawOpen, cheekPuff (other order, one extra, two missing);
    /// Teeth has only jawOpen; Body has no morph targets and its own translation animation.
    static let headTargets = ["mouthSmileLeft", "extraTarget", "jawOpen", "cheekPuff"]

    /// A 1x1 PNG, so that image handling is exercised with a real image.
    static let png = Data(base64Encoded: "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")!

    /// Writes the rig as `.gltf` (main buffer in "rig data.bin", Teeth's data in a data URI,
    /// image in a file) or as `.glb`, by hand, without the exporter's code.
    static func writeRig(in directory: URL, binary: Bool) throws -> URL {
        func floats(_ values: [Float]) -> [UInt8] { values.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) } }
        let triangle: [Float] = [0, 0, 0, 1, 0, 0, 0, 1, 0]
        let lift: [Float] = [0, 0, 0.2, 0, 0, 0, 0, 0, 0]
        // Buffer 0: triangle (36 bytes), lift (36), Body translation times (8) and values (24).
        let main = floats(triangle) + floats(lift) + floats([0, 1]) + floats([0, 0, 0, 0, 1, 0])
        // Buffer 1: Teeth triangle and its lift.
        let teeth = floats(triangle) + floats(lift)
        let vec3Bounds: (JSONValue, JSONValue) = ([0, 0, 0], [1, 1, 0])
        var accessors: [JSONValue] = [
            ["bufferView": 0, "componentType": 5126, "count": 3, "type": "VEC3", "min": vec3Bounds.0, "max": vec3Bounds.1],
            ["bufferView": 1, "componentType": 5126, "count": 3, "type": "VEC3", "min": [0, 0, 0], "max": [0, 0, 0.2]],
            ["bufferView": 2, "componentType": 5126, "count": 2, "type": "SCALAR", "min": [0], "max": [1]],
            ["bufferView": 3, "componentType": 5126, "count": 2, "type": "VEC3"],
        ]
        accessors.append(["bufferView": 4, "componentType": 5126, "count": 3, "type": "VEC3", "min": vec3Bounds.0, "max": vec3Bounds.1])
        accessors.append(["bufferView": 5, "componentType": 5126, "count": 3, "type": "VEC3", "min": [0, 0, 0], "max": [0, 0, 0.2]])
        let views: [JSONValue] = [
            ["buffer": 0, "byteOffset": 0, "byteLength": 36], ["buffer": 0, "byteOffset": 36, "byteLength": 36],
            ["buffer": 0, "byteOffset": 72, "byteLength": 8], ["buffer": 0, "byteOffset": 80, "byteLength": 24],
            ["buffer": 1, "byteOffset": 0, "byteLength": 36], ["buffer": 1, "byteOffset": 36, "byteLength": 36],
        ]
        let headTargetsJSON: JSONValue = .array(headTargets.map { _ in ["POSITION": 1] })
        let nodes: JSONValue = [["name": "Body", "mesh": 2], ["name": "Head", "mesh": 0], ["name": "Teeth", "mesh": 1]]
        let headNames: JSONValue = .array(headTargets.map { .string($0) })
        let headPrimitive: JSONValue = ["attributes": ["POSITION": 0], "targets": headTargetsJSON]
        let head: JSONValue = [
            "name": "Head", "primitives": [headPrimitive], "weights": [0.5, 0, 0, 0], "extras": ["targetNames": headNames],
        ]
        let teethPrimitive: JSONValue = ["attributes": ["POSITION": 4], "targets": [["POSITION": 5]]]
        let teethMesh: JSONValue = ["name": "Teeth", "primitives": [teethPrimitive], "extras": ["targetNames": ["jawOpen"]]]
        let body: JSONValue = ["name": "Body", "primitives": [["attributes": ["POSITION": 0]]]]
        let bodyChannel: JSONValue = ["sampler": 0, "target": ["node": 0, "path": "translation"]]
        let bodyMove: JSONValue = ["name": "BodyMove", "channels": [bodyChannel], "samplers": [["input": 2, "output": 3]]]
        var document = JSONObject()
        document["asset"] = ["version": "2.0", "generator": "hand-made test rig"]
        document["scene"] = 0
        document["scenes"] = [["nodes": [0, 1, 2]]]
        document["nodes"] = nodes
        document["meshes"] = [head, teethMesh, body]
        document["animations"] = [bodyMove]
        document["accessors"] = .array(accessors)
        document["bufferViews"] = .array(views)
        let teethURI = "data:application/octet-stream;base64," + Data(teeth).base64EncodedString()
        if binary {
            document["buffers"] = [["byteLength": .integer(Int64(main.count))], ["byteLength": 72, "uri": .string(teethURI)]]
            document["images"] = [["uri": .string("data:image/png;base64," + png.base64EncodedString())]]
            var json = Array(try JSONCodec.serialize(.object(document), style: .compact).utf8)
            while json.count % 4 != 0 { json.append(0x20) }
            var bin = main
            while bin.count % 4 != 0 { bin.append(0) }
            var glb: [UInt8] = []
            func word(_ value: Int) { glb += withUnsafeBytes(of: UInt32(value).littleEndian, Array.init) }
            word(0x4654_6C67); word(2); word(12 + 8 + json.count + 8 + bin.count)
            word(json.count); word(0x4E4F_534A); glb += json
            word(bin.count); word(0x004E_4942); glb += bin
            let url = directory.appendingPathComponent("rig.glb")
            try Data(glb).write(to: url)
            return url
        }
        document["buffers"] = [
            ["byteLength": .integer(Int64(main.count)), "uri": "rig%20data.bin"], ["byteLength": 72, "uri": .string(teethURI)],
        ]
        document["images"] = [["uri": "skin.png"]]
        try Data(main).write(to: directory.appendingPathComponent("rig data.bin"))
        try png.write(to: directory.appendingPathComponent("skin.png"))
        let url = directory.appendingPathComponent("rig.gltf")
        try JSONCodec.serializedData(.object(document)).write(to: url)
        return url
    }

    @Test(arguments: [false, true])
    func matchesByNameAndReports(rigIsBinary: Bool) throws {
        let rigDirectory = Scratch.directory("rig-in")
        let rig = try Self.writeRig(in: rigDirectory, binary: rigIsBinary)
        let clip = TestClips.make(interpolation: .linear, frames: 12, name: "line")
        let (files, report) = try GLTFExporter(binary: true, rigModel: rig).renderWithRigReport(clip, baseName: "line")
        let matchReport = try #require(report)
        #expect(matchReport.animatedMeshes == ["Head", "Teeth"])
        #expect(matchReport.matchedBlendshapes == ["jawOpen", "mouthSmileLeft"])
        #expect(matchReport.unmatchedBlendshapes == ["browInnerUp", "eyeBlinkLeft"])
        #expect(matchReport.unanimatedTargets == ["extraTarget", "cheekPuff"])
        #expect(matchReport.warnings.count == 2)
        #expect(matchReport.warnings[0].contains("\"browInnerUp\", \"eyeBlinkLeft\""))
        #expect(matchReport.warnings[0].hasPrefix(rig.path))

        // The CLI path: the same warnings come through the format switch.
        var settings = ExportSettings()
        settings.rigModel = rig
        let viaSwitch = try ExportFormat.glb.makeExporter(settings).renderReportingWarnings(clip, baseName: "line")
        #expect(viaSwitch.warnings == matchReport.warnings)
        #expect(viaSwitch.files == files)

        let outDirectory = Scratch.directory("rig-out")
        try ExportWriter.write(files, baseName: "line", in: outDirectory)
        let output = outDirectory.appendingPathComponent("line.glb")
        let times = TestClips.checkTimes(clip, betweenFrames: true)
        let result = try Readers.json("read_gltf.py", [output.path, try JSONCodec.serialize(.array(times.map { .number($0) }), style: .compact), "line"])
        #expect(result["animationNames"]?.arrayValue?.compactMap(\.stringValue) == ["BodyMove", "line"])
        let channels = result["channels"]?.arrayValue ?? []
        try #require(channels.count == 2)
        #expect(channels.map { $0["node"]?.intValue } == [1, 2])
        let jaw = clip.curves[0]
        let smile = clip.curves[1]
        for (timeIndex, time) in times.enumerated() {
            let head = Readers.doubles(channels[0]["values"]?.arrayValue?[timeIndex])
            let teeth = Readers.doubles(channels[1]["values"]?.arrayValue?[timeIndex])
            try #require(head.count == 4 && teeth.count == 1)
            #expect(abs(head[0] - smile.value(at: time, interpolation: .linear)) < 1e-5)
            #expect(head[1] == 0)
            #expect(abs(head[2] - jaw.value(at: time, interpolation: .linear)) < 1e-5)
            #expect(head[3] == 0)
            #expect(abs(teeth[0] - jaw.value(at: time, interpolation: .linear)) < 1e-5)
        }
        // The user's model survives: its weights, its image (now inside the GLB) and accessors.
        #expect(Readers.doubles(result["meshWeights"]?.arrayValue?.first) == [0.5, 0, 0, 0])
        let images = result["images"]?.arrayValue ?? []
        #expect(images.count == 1 && images.first?["uri"] == .null && images.first?["mimeType"]?.stringValue == "image/png")
        for accessor in result["accessors"]?.arrayValue ?? [] { #expect((accessor["byteOffset"]?.intValue ?? 1) % 4 == 0) }
        let packed = outDirectory.appendingPathComponent("packed.glb")
        let gltfpack = try TestProcess.run("gltfpack", ["-i", output.path, "-o", packed.path])
        #expect(gltfpack.status == 0, "gltfpack: \(gltfpack.standardError)")
    }

    @Test func blenderSeesTheRigAnimation() throws {
        let rigDirectory = Scratch.directory("rig-blender")
        let rig = try Self.writeRig(in: rigDirectory, binary: false)
        let clip = TestClips.make(interpolation: .step, frames: 12, name: "line")
        let files = try GLTFExporter(binary: true, rigModel: rig).render(clip, baseName: "line")
        try ExportWriter.write(files, baseName: "line", in: rigDirectory)
        let times = TestClips.checkTimes(clip, betweenFrames: true)
        let requests: JSONValue = [
            ["file": .string(rigDirectory.appendingPathComponent("line.glb").path), "fps": 30, "fpsBase": 1,
             "times": .array(times.map { .number($0) })]
        ]
        let requestsURL = rigDirectory.appendingPathComponent("requests.json")
        try JSONCodec.serializedData(requests).write(to: requestsURL)
        let script = TestPaths.readers.appendingPathComponent("blender_read_gltf.py").path
        let output = try Readers.command("blender", ["-b", "--factory-startup", "--python", script, "--", requestsURL.path])
        let curves = try #require(output["results"]?.arrayValue?.first?["curves"]?.objectValue)
        // Blender names actions "<animation>_<object>"; the Head and Teeth objects each get one.
        for (label, curve) in [("line_Head/jawOpen", clip.curves[0]), ("line_Head/mouthSmileLeft", clip.curves[1]),
                               ("line_Teeth/jawOpen", clip.curves[0])] {
            let values = Readers.doubles(curves[label])
            try #require(values.count == times.count, "Blender has no curve \(label); it has \(curves.keys)")
            for (time, value) in zip(times, values) {
                #expect(abs(value - curve.value(at: time, interpolation: .step)) < 1e-3, "\(label) at \(time)")
            }
        }
        for label in ["line_Head/extraTarget", "line_Head/cheekPuff"] {
            #expect(Readers.doubles(curves[label]).allSatisfy { $0 == 0 }, "\(label) stays 0")
        }
    }

    /// A rig written by Blender's own glTF exporter (a sphere with shape keys), as artists
    /// make them: matched by name, animated, and read back by pygltflib and Blender.
    @Test func rigExportedByBlender() throws {
        let directory = Scratch.directory("rig-from-blender")
        let rig = directory.appendingPathComponent("head.glb")
        let make = TestPaths.readers.appendingPathComponent("blender_make_rig.py").path
        let made = try TestProcess.run(
            "blender", ["-b", "--factory-startup", "--python", make, "--", rig.path, "mouthSmileRight", "jawOpen", "customWrinkle",
                        "mouthSmileLeft", "browInnerUp"])
        try #require(made.status == 0 && FileManager.default.fileExists(atPath: rig.path), "Blender: \(made.standardError.suffix(500))")
        let clip = TestClips.make(interpolation: .linear, frames: 12, name: "line")
        let (files, report) = try GLTFExporter(binary: true, rigModel: rig).renderWithRigReport(clip, baseName: "line")
        #expect(report?.matchedBlendshapes == ["jawOpen", "mouthSmileLeft", "browInnerUp"])
        #expect(report?.unmatchedBlendshapes == ["eyeBlinkLeft"])
        #expect(report?.unanimatedTargets == ["mouthSmileRight", "customWrinkle"])
        try ExportWriter.write(files, baseName: "line", in: directory)
        let output = directory.appendingPathComponent("line.glb")
        let gltfpack = try TestProcess.run("gltfpack", ["-i", output.path, "-o", directory.appendingPathComponent("packed.glb").path])
        #expect(gltfpack.status == 0, "gltfpack: \(gltfpack.standardError)")

        let times = TestClips.checkTimes(clip, betweenFrames: true)
        let timesJSON = try JSONCodec.serialize(.array(times.map { .number($0) }), style: .compact)
        let read = try Readers.json("read_gltf.py", [output.path, timesJSON, "line"])
        let channel = try #require(read["channels"]?.arrayValue?.first)
        #expect(channel["targetNames"]?.arrayValue?.compactMap(\.stringValue)
            == ["mouthSmileRight", "jawOpen", "customWrinkle", "mouthSmileLeft", "browInnerUp"])
        let slots: [BlendshapeCurve?] = [nil, clip.curves[0], nil, clip.curves[1], clip.curves[2]]
        for (index, time) in times.enumerated() {
            let values = Readers.doubles(channel["values"]?.arrayValue?[index])
            try #require(values.count == slots.count)
            for (value, curve) in zip(values, slots) {
                #expect(abs(value - (curve?.value(at: time, interpolation: .linear) ?? 0)) < 1e-5)
            }
        }

        let requests: JSONValue = [["file": .string(output.path), "fps": 30, "fpsBase": 1, "times": .array(times.map { .number($0) })]]
        let requestsURL = directory.appendingPathComponent("requests.json")
        try JSONCodec.serializedData(requests).write(to: requestsURL)
        let script = TestPaths.readers.appendingPathComponent("blender_read_gltf.py").path
        let imported = try Readers.command("blender", ["-b", "--factory-startup", "--python", script, "--", requestsURL.path])
        let curves = try #require(imported["results"]?.arrayValue?.first?["curves"]?.objectValue)
        for curve in clip.curves.prefix(3) {
            let values = Readers.doubles(curves["line_Head/\(curve.name)"])
            try #require(values.count == times.count, "Blender has no curve for \(curve.name); it has \(curves.keys)")
            for (time, value) in zip(times, values) {
                #expect(abs(value - curve.value(at: time, interpolation: .linear)) < 1e-3, "\(curve.name) at \(time)")
            }
        }
    }

    @Test func writesGLTFWithBinToo() throws {
        let rigDirectory = Scratch.directory("rig-gltf")
        let rig = try Self.writeRig(in: rigDirectory, binary: true)
        let clip = TestClips.make(interpolation: .cubic, frames: 8, name: "line")
        let files = try GLTFExporter(binary: false, rigModel: rig).render(clip, baseName: "line")
        #expect(files.map(\.suffix) == [".gltf", ".bin"])
        let outDirectory = Scratch.directory("rig-gltf-out")
        try ExportWriter.write(files, baseName: "line", in: outDirectory)
        let keyTimes = clip.unionKeyTimes
        let result = try Readers.json(
            "read_gltf.py",
            [outDirectory.appendingPathComponent("line.gltf").path, try JSONCodec.serialize(.array(keyTimes.map { .number($0) }), style: .compact), "line"])
        let channels = result["channels"]?.arrayValue ?? []
        try #require(channels.count == 2)
        for (index, time) in keyTimes.enumerated() {
            let head = Readers.doubles(channels[0]["values"]?.arrayValue?[index])
            #expect(abs(head[2] - clip.curves[0].value(at: time, interpolation: .cubic)) < 1e-5)
        }
    }

    @Test func refusesARigWithoutMatchingTargets() throws {
        let rigDirectory = Scratch.directory("rig-nomatch")
        let rig = try Self.writeRig(in: rigDirectory, binary: true)
        let clip = TestClips.make(interpolation: .linear, frames: 5, names: ["noseSneerLeft", "tongueOut"])
        do {
            _ = try GLTFExporter(binary: true, rigModel: rig).render(clip, baseName: "x")
            Issue.record("rendered a rig with no matching morph targets")
        } catch let error as ExportError {
            #expect(error.code == "rig.noMatch")
            #expect(error.message.hasPrefix(rig.path))
        }
    }

    @Test func refusesBrokenRigFiles() throws {
        let directory = Scratch.directory("rig-broken")
        let clip = TestClips.make(interpolation: .linear, frames: 5)
        let cases: [(String, Data, String)] = [
            ("notjson.gltf", Data("{\"asset\": ".utf8), "json.syntax"),
            ("v1.gltf", Data("{\"asset\": {\"version\": \"1.0\"}}".utf8), "rig.version"),
            ("short.glb", Data("glTF\u{2}\0\0\0\u{ff}\0\0\0".utf8) + Data(count: 8), "rig.glb"),
            ("meshopt.gltf", Data("{\"asset\": {\"version\": \"2.0\"}, \"extensionsUsed\": [\"EXT_meshopt_compression\"]}".utf8), "rig.extension"),
            ("missingbin.gltf", Data("{\"asset\": {\"version\": \"2.0\"}, \"buffers\": [{\"byteLength\": 4, \"uri\": \"nope.bin\"}]}".utf8), "rig.uri"),
        ]
        for (name, data, code) in cases {
            let url = directory.appendingPathComponent(name)
            try data.write(to: url)
            do {
                _ = try GLTFExporter(binary: true, rigModel: url).render(clip, baseName: "x")
                Issue.record("\(name): accepted")
            } catch let error as any EmoBakeErrorLike {
                #expect(error.code == code, "\(name): \(error.message)")
                #expect(error.message.contains(name), "\(name): \(error.message)")
            }
        }
        do {
            _ = try GLTFExporter(binary: true, rigModel: directory.appendingPathComponent("absent.glb")).render(clip, baseName: "x")
            Issue.record("read a missing file")
        } catch let error as ExportError {
            #expect(error.code == "rig.read")
        }
    }
}

/// Any of our module error types (they all carry a code and a message).
protocol EmoBakeErrorLike: Error {
    var code: String { get }
    var message: String { get }
}
extension ExportError: EmoBakeErrorLike {}
extension JSONError: EmoBakeErrorLike {}
