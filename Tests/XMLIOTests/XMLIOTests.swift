import Foundation
import TestSupport
import Testing
import XMLIO

@Suite struct XMLIOTests {
    @Test func writeThenParse() throws {
        let writer = try XMLWriter()
        writer.startElement("root")
        writer.attribute("version", "1")
        writer.element("item", attributes: ["id": "a&b"], text: "x < y")
        writer.endElement()
        let data = try writer.finish()
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.hasPrefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<root version=\"1\">\n  <item"))
        let root = try XMLDocument.parse(data, source: "mem.xml")
        #expect(root.name == "root")
        #expect(root.child(named: "item")?.attribute("id") == "a&b")
        #expect(root.child(named: "item")?.text == "x < y")
    }

    @Test func syntaxErrorNamesFile() {
        do {
            _ = try XMLDocument.parse(Data("<a><b></a>".utf8), source: "bad.xml")
            Issue.record("parsed invalid XML")
        } catch let error as XMLError {
            #expect(error.message.hasPrefix("bad.xml: invalid XML"))
        } catch { Issue.record("\(error)") }
    }

    @Test func externalEntitiesAreNotRead() throws {
        let text = """
            <?xml version="1.0"?>
            <!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/hostname">]>
            <r>&x;</r>
            """
        let root = try? XMLDocument.parse(Data(text.utf8), source: "xxe.xml")
        #expect(root?.text.isEmpty ?? true)
    }
}

@Suite struct XMLSchemaValidationTests {
    let schema = """
        <?xml version="1.0"?>
        <xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
          <xs:element name="root"><xs:complexType><xs:sequence>
            <xs:element name="n" type="xs:decimal" maxOccurs="unbounded"/>
          </xs:sequence></xs:complexType></xs:element>
        </xs:schema>
        """

    @Test func validAndInvalidDocuments() throws {
        let directory = TestPaths.temporaryDirectory("xsd")
        let url = directory.appendingPathComponent("s.xsd")
        try Data(schema.utf8).write(to: url)
        #expect(try XMLDocument.validate(Data("<root><n>1.5</n></root>".utf8), source: "ok.xml", schema: url) == nil)
        let problem = try XMLDocument.validate(Data("<root>\n<n>x</n></root>".utf8), source: "bad.xml", schema: url)
        let text = try #require(problem)
        #expect(text.hasPrefix("line 2:"), "\(text)")
        #expect(text.contains("'x'"), "\(text)")
    }

    @Test func brokenSchemaIsAnError() throws {
        let directory = TestPaths.temporaryDirectory("xsd-bad")
        let url = directory.appendingPathComponent("s.xsd")
        try Data("<xs:schema xmlns:xs=\"http://www.w3.org/2001/XMLSchema\"><xs:nonsense/></xs:schema>".utf8).write(to: url)
        #expect(throws: XMLError.self) { try XMLDocument.validate(Data("<a/>".utf8), source: "a.xml", schema: url) }
    }
}
