import Curves
import Foundation
import Testing
import TestSupport

@testable import Batch

@Suite("Project files")
struct BakeProjectTests {
    func load(_ text: String) throws -> BakeProject {
        let url = TestPaths.temporaryDirectory("project").appendingPathComponent("project.json")
        try Data(text.utf8).write(to: url)
        return try BakeProject.load(url)
    }

    @Test func everyFieldIsRead() throws {
        let project = try load("""
            {"output": "{language}/{id}", "formats": ["fbx", "glb"], "frameRate": "29.97", "model": "models/mine",
             "emotionHintStrength": 1.5, "window": 0.5, "hop": 0.1, "interpolation": "cubic", "keyTolerance": 0.01,
             "postProcessing": {"contrast": 1.5, "maxEmotions": 2},
             "defaults": {"rig": "vrm", "smoothing": "game", "intensity": 0.5},
             "characters": {"mara": {"intensity": 0.9}, "theo": {"rig": "rigs/theo.json"}}}
            """)
        #expect(project.outputTemplate.text == "{language}/{id}")
        #expect(project.formats == [.glb, .fbx])
        #expect(project.frameRate == FrameRate(numerator: 30000, denominator: 1001))
        #expect(project.model == "models/mine" && project.emotionHintStrength == 1.5)
        #expect(project.window == 0.5 && project.hop == 0.1)
        // A window or hop asks for sliding windows when the mode is left to the model.
        #expect(project.mode == .auto && project.requestedMode == .window)
        #expect(project.interpolation == .cubic && project.keyTolerance == 0.01)
        #expect(project.postProcessing.contrast == 1.5 && project.postProcessing.maxEmotions == 2)
        // Characters start from the defaults.
        #expect(try project.settings(for: "mara").get() == CharacterSettings(rig: "vrm", smoothing: "game", intensity: 0.9))
        #expect(try project.settings(for: "theo").get() == CharacterSettings(rig: "rigs/theo.json", smoothing: "game", intensity: 0.5))
        #expect(throws: BatchError.self) { try project.settings(for: "nobody").get() }
    }

    @Test func theModeIsReadAndAutoByDefault() throws {
        #expect(try load("{}").requestedMode == .auto)
        #expect(try load(#"{"mode": "sequence"}"#).requestedMode == .sequence)
        #expect(try load(#"{"mode": "window"}"#).requestedMode == .window)
        #expect(try load(#"{"mode": "window", "window": 1.4}"#).window == 1.4)
    }

    @Test func noCharactersMeansEveryoneUsesTheDefaults() throws {
        let project = try load("{}")
        #expect(try project.settings(for: "anyone").get() == BakeProject.defaultCharacter)
        #expect(project.outputTemplate.text == "{character}/{id}")
    }

    @Test(arguments: [
        (#"{"ouput": "{id}"}"#, "ouput: unknown field"),
        (#"{"output": "{who}"}"#, "unknown variable {who}"),
        (#"{"formats": ["png"]}"#, "unknown format \"png\""),
        (#"{"frameRate": "fast"}"#, "invalid frame rate"),
        (#"{"interpolation": "bezier"}"#, "unknown interpolation \"bezier\""),
        (#"{"characters": {"mara": {"rigg": "vrm"}}}"#, "characters.mara.rigg: unknown field"),
        (#"{"emotionHintStrength": -1}"#, "outside 0.0...100.0"),
        (#"{"mode": "frames"}"#, "mode: unknown mode \"frames\""),
        (#"{"mode": "sequence", "hop": 0.2}"#, "apply to the window mode"),
        ("[1]", "expected an object"),
    ])
    func mistakesNameTheFieldAndFile(_ text: String, _ expected: String) throws {
        let error = #expect(throws: (any Error).self) { try load(text) }
        let message = (error as? any CustomStringConvertible)?.description ?? ""
        #expect(message.contains("project.json") && message.contains(expected), "\(message)")
    }
}
