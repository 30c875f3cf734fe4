import CLibXML2
import Common
import Foundation

/// Streams an XML document into memory with libxml2's text writer: two-space indentation,
/// UTF-8, attributes in the order written, so the bytes are deterministic.
public final class XMLWriter {
    private let buffer: xmlBufferPtr
    private let writer: xmlTextWriterPtr
    private var failed = false

    public init() throws {
        guard let buffer = xmlBufferCreate() else { throw XMLError("xml.memory", "out of memory creating an XML buffer") }
        guard let writer = xmlNewTextWriterMemory(buffer, 0) else {
            xmlBufferFree(buffer)
            throw XMLError("xml.memory", "out of memory creating an XML writer")
        }
        self.buffer = buffer
        self.writer = writer
        check(xmlTextWriterSetIndent(writer, 1))
        check("  ".withCString { xmlTextWriterSetIndentString(writer, UnsafeRawPointer($0).assumingMemoryBound(to: xmlChar.self)) })
        check(xmlTextWriterStartDocument(writer, "1.0", "UTF-8", nil))
    }

    deinit {
        xmlFreeTextWriter(writer)
        xmlBufferFree(buffer)
    }

    private func check(_ status: Int32) {
        if status < 0 { failed = true }
    }

    public func startElement(_ name: String) {
        check(xmlTextWriterStartElement(writer, name))
    }

    public func attribute(_ name: String, _ value: String) {
        check(xmlTextWriterWriteAttribute(writer, name, value))
    }

    public func text(_ value: String) {
        check(xmlTextWriterWriteString(writer, value))
    }

    public func comment(_ value: String) {
        check(xmlTextWriterWriteComment(writer, value))
    }

    public func endElement() {
        check(xmlTextWriterEndElement(writer))
    }

    /// `<name a="..." ...>text</name>` in one call.
    public func element(_ name: String, attributes: KeyValuePairs<String, String> = [:], text: String? = nil) {
        startElement(name)
        for (key, value) in attributes { attribute(key, value) }
        if let text { self.text(text) }
        endElement()
    }

    /// Ends the document and returns its bytes (LF line endings, trailing newline).
    public func finish() throws -> Data {
        check(xmlTextWriterEndDocument(writer))
        check(xmlTextWriterFlush(writer))
        guard !failed, let content = xmlBufferContent(buffer) else {
            throw XMLError("xml.write", "libxml2 failed while writing XML")
        }
        let length = Int(xmlBufferLength(buffer))
        return Data(bytes: content, count: length)
    }
}

private func xmlTextWriterStartElement(_ writer: xmlTextWriterPtr, _ name: String) -> Int32 {
    name.withCString { CLibXML2.xmlTextWriterStartElement(writer, xmlString($0)) }
}

private func xmlTextWriterWriteAttribute(_ writer: xmlTextWriterPtr, _ name: String, _ value: String) -> Int32 {
    name.withCString { n in value.withCString { v in CLibXML2.xmlTextWriterWriteAttribute(writer, xmlString(n), xmlString(v)) } }
}

private func xmlTextWriterWriteString(_ writer: xmlTextWriterPtr, _ value: String) -> Int32 {
    value.withCString { CLibXML2.xmlTextWriterWriteString(writer, xmlString($0)) }
}

private func xmlTextWriterWriteComment(_ writer: xmlTextWriterPtr, _ value: String) -> Int32 {
    value.withCString { CLibXML2.xmlTextWriterWriteComment(writer, xmlString($0)) }
}

func xmlString(_ pointer: UnsafePointer<CChar>) -> UnsafePointer<xmlChar> {
    UnsafeRawPointer(pointer).assumingMemoryBound(to: xmlChar.self)
}
