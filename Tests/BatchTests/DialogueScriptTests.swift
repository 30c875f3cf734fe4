import Foundation
import Testing
import TestSupport

@testable import Batch

@Suite("Dialogue scripts")
struct DialogueScriptTests {
    /// The four fixture scripts hold the same five lines.
    static let formats = ["lines.csv", "lines.tsv", "lines.json", "lines.xml"]

    @Test(arguments: formats)
    func everyFormatReadsTheSameLines(_ name: String) throws {
        let script = try DialogueScript.load(BatchFixture.scripts.appendingPathComponent(name))
        #expect(script.lines.count == 5)
        let lines = script.lines
        #expect(lines.allSatisfy { $0.problem == nil })
        #expect(lines.map(\.id) == ["intro_01", "intro_02", "intro_03", "hall_01", "hall_02"])
        #expect(lines.map(\.character) == ["alice", "bob", "alice", "bob", "alice"])
        // Quoted commas, quotes and a line break inside a field survive.
        #expect(lines[0].text == "Hello, Bob. You're late.")
        #expect(lines[1].text == "I know.\nThe train...")
        #expect(lines[2].text == "\"Late\" is an understatement!")
        #expect(lines.map(\.emotion) == [nil, "sad", "angry", nil, nil])
        #expect(lines.map(\.start) == [0, 2.5, 4.25, nil, nil])
        #expect(lines.map(\.scene) == ["intro", "intro", "intro", nil, nil])
        #expect(lines[3].track == "tracks/fear_to_sad.json")
        #expect(lines.allSatisfy { $0.language == "en" && $0.audio == nil })
    }

    @Test func csvLocationsNameThePhysicalLine() throws {
        // The BOM'd CRLF file: line 3's quoted text spans two physical lines.
        let script = try DialogueScript.load(BatchFixture.scripts.appendingPathComponent("lines.csv"))
        #expect(script.lines.map { $0.location.split(separator: ":").last! } == ["2", "3", "5", "6", "7"])
    }

    @Test func utf16TabSeparatedTextAsExcelSavesIt() throws {
        let folder = TestPaths.temporaryDirectory("script")
        let url = folder.appendingPathComponent("unicode.tsv")
        let text = "id\tcharacter\taudio\ttext\nl1\tzoë\ta.wav\t¿Qué?\n"
        var data = Data([0xFF, 0xFE])
        data.append(text.data(using: .utf16LittleEndian)!)
        try data.write(to: url)
        let script = try DialogueScript.load(url)
        #expect(script.lines.count == 1)
        #expect(script.lines[0].character == "zoë")
        #expect(script.lines[0].text == "¿Qué?")
    }

    @Test func rowProblemsStayOnTheirLine() throws {
        let folder = TestPaths.temporaryDirectory("script")
        let url = folder.appendingPathComponent("bad.csv")
        try Data("id,character,audio,start\n,alice,a.wav,\nl2,bob,,\nl3,bob,b.wav,soon\nl4,bob,c.wav,1:75\nl5,bob,d.wav,-2\n\nl6,bob,e.wav,3,extra\nl7,bob,f.wav,1:02.5\n".utf8).write(to: url)
        let lines = try DialogueScript.load(url).lines
        #expect(lines.count == 7)
        #expect(lines[0].problem == "missing id")
        #expect(lines[1].problem == "needs an audio file or a track")
        #expect(lines[2].problem?.contains("start \"soon\" is not a time") == true)
        #expect(lines[3].problem?.contains("not a time") == true)
        #expect(lines[4].problem?.contains("not a time") == true)
        #expect(lines[5].problem?.contains("5 fields but the header has 4") == true)
        #expect(lines[6].problem == nil && lines[6].start == 62.5)
        #expect(lines[5].location.hasSuffix("bad.csv:8"))
    }

    @Test(arguments: [
        ("character,audio\nalice,a.wav\n", "missing column id"),
        ("id,character,text\nl1,alice,hi\n", "missing column audio (or track)"),
        ("id,character,audio,id\n", "column \"id\" appears twice"),
        ("id,character,audio\nl1,alice,\"a.wav\n", ":2: a quoted field is never closed"),
        ("", "empty script"),
    ])
    func wholeFileProblemsNameTheFile(_ content: String, _ expected: String) throws {
        let folder = TestPaths.temporaryDirectory("script")
        let url = folder.appendingPathComponent("broken.csv")
        try Data(content.utf8).write(to: url)
        let error = #expect(throws: BatchError.self) { try DialogueScript.load(url) }
        #expect(error?.message.contains(url.path) == true)
        #expect(error?.message.contains(expected) == true, "\(error?.message ?? "")")
    }

    @Test func invalidUTF8AndUnknownExtensionsAreRefused() throws {
        let folder = TestPaths.temporaryDirectory("script")
        let latin1 = folder.appendingPathComponent("latin1.csv")
        try Data([0x69, 0x64, 0x2C, 0x63, 0x68, 0x61, 0x72, 0x61, 0x63, 0x74, 0x65, 0x72, 0x2C, 0x61, 0x75, 0x64, 0x69, 0x6F, 0x0A, 0x6C, 0x31, 0x2C, 0x7A, 0x6F, 0xEB, 0x2C, 0x61, 0x0A]).write(to: latin1)
        #expect(throws: BatchError.self) { try DialogueScript.load(latin1) }
        let other = folder.appendingPathComponent("lines.xlsx")
        try Data("x".utf8).write(to: other)
        let error = #expect(throws: BatchError.self) { try DialogueScript.load(other) }
        #expect(error?.message.contains("use .csv, .tsv, .json or .xml") == true)
    }

    @Test func jsonAndXMLRowsWithWrongTypesFailAlone() throws {
        let folder = TestPaths.temporaryDirectory("script")
        let json = folder.appendingPathComponent("s.json")
        try Data(#"[{"id": "a", "character": "x", "audio": "a.wav"}, {"id": 7, "character": "x", "audio": "b.wav"}, "oops"]"#.utf8).write(to: json)
        let lines = try DialogueScript.load(json).lines
        #expect(lines.count == 3)
        #expect(lines[0].problem == nil)
        #expect(lines[1].problem?.contains("\"id\" should be a string") == true)
        #expect(lines[2].problem?.contains("expected an object") == true)
        let xml = folder.appendingPathComponent("s.xml")
        try Data("<script><line id=\"a\" character=\"x\"><audio>a.wav</audio></line><line id=\"b\" character=\"x\" audio=\"b.wav\"><audio>c.wav</audio></line></script>".utf8).write(to: xml)
        let xmlLines = try DialogueScript.load(xml).lines
        #expect(xmlLines[0].audio == "a.wav" && xmlLines[0].problem == nil)
        #expect(xmlLines[1].problem?.contains("given twice") == true)
    }

    @Test(arguments: [
        ("12.5", 12.5 as Double?), ("0", 0), ("1:02.5", 62.5), ("01:00:00.250", 3600.25), ("-1", nil), ("1:60", nil),
        ("1.5:00", nil), ("abc", nil), ("", nil), ("1e3", nil),
    ])
    func times(_ text: String, _ seconds: Double?) {
        #expect(DialogueScript.parseTime(text) == seconds)
    }
}
