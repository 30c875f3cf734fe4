import Foundation
import Testing
import TestSupport

@testable import Batch

@Suite("Output paths")
struct OutputPathTests {
    @Test func templatesExpandEveryVariable() throws {
        let template = try OutputTemplate("{language}/{scene}/{character}/{script}_{id}")
        let path = try template.expand(["id": "l1", "character": "alice", "language": "fr", "scene": "intro", "script": "act1"])
        #expect(path == "fr/intro/alice/act1_l1")
    }

    @Test(arguments: [
        ("{lang}/{id}", "unknown variable {lang}"), ("{character}", "must contain {id}"), ("{id", "is never closed"),
        ("id}", "\"}\" without \"{\""),
    ])
    func badTemplatesAreRefused(_ text: String, _ expected: String) {
        let error = #expect(throws: BatchError.self) { try OutputTemplate(text) }
        #expect(error?.message.contains(expected) == true, "\(error?.message ?? "")")
    }

    @Test(arguments: [
        ("{id}", "..", "path.escape"),
        ("{id}", "a/b", "path.escape"),
        ("{id}", "a\\b", "path.escape"),
        ("../{id}", "l1", "path.escape"),
        ("/tmp/{id}", "l1", "path.escape"),
        ("~/{id}", "l1", "path.escape"),
        ("out//{id}", "l1", "path.empty"),
        ("./{id}", "l1", "path.escape"),
        ("{id}", "manifest", "path.reserved"),
        ("shards/{id}", "l1", "path.reserved"),
        ("{id}", ".emobake", "path.escape"),
        ("{id}", "tab\there", "path.escape"),
    ])
    func escapesFailWithAClearMessage(_ template: String, _ id: String, _ code: String) throws {
        let error = #expect(throws: BatchError.self) { try OutputTemplate(template).expand(["id": id]) }
        #expect(error?.code == code, "\(error?.message ?? "")")
        #expect(error?.message.contains(template) == true)
    }

    @Test func missingVariablesSayWhichOne() throws {
        let error = #expect(throws: BatchError.self) { try OutputTemplate("{language}/{id}").expand(["id": "l1"]) }
        #expect(error?.message.contains("the line has no language for {language}") == true)
    }

    @Test func symlinksInsideAreFollowedAndSymlinksOutFail() throws {
        let root = TestPaths.temporaryDirectory("outfolder")
        let outside = TestPaths.temporaryDirectory("outside")
        let output = root.appendingPathComponent("out")
        let folder = try OutputFolder(output)
        try FileManager.default.createDirectory(at: output.appendingPathComponent("real"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: output.appendingPathComponent("inside").path, withDestinationPath: "real")
        try FileManager.default.createSymbolicLink(atPath: output.appendingPathComponent("escape").path, withDestinationPath: outside.path)
        let inside = try folder.directory("inside/alice")
        #expect(inside.path == folder.realPath + "/real/alice")
        let error = #expect(throws: BatchError.self) { try folder.directory("escape/alice") }
        #expect(error?.code == "path.escape")
        #expect(error?.message.contains("pointing out of the output folder") == true)
        // Nothing was created on the other side of the link.
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside.path).isEmpty)
        // A file in the way of a folder.
        try Data("x".utf8).write(to: output.appendingPathComponent("file"))
        #expect(throws: BatchError.self) { try folder.directory("file/alice") }
    }
}
