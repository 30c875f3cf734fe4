import CLibXML2
import Common
import Foundation

/// A parsed XML element: name, attributes in order, child elements and its own text.
public struct XMLElement: Sendable, Equatable {
    public var name: String
    public var attributes: [(name: String, value: String)]
    public var children: [XMLElement]
    /// The concatenated text directly inside this element (not its children's).
    public var text: String
    /// The line in the source file where the element starts.
    public var line: Int

    public func attribute(_ name: String) -> String? { attributes.first(where: { $0.name == name })?.value }
    public func children(named name: String) -> [XMLElement] { children.filter { $0.name == name } }
    public func child(named name: String) -> XMLElement? { children.first(where: { $0.name == name }) }

    public static func == (lhs: XMLElement, rhs: XMLElement) -> Bool {
        lhs.name == rhs.name && lhs.text == rhs.text && lhs.children == rhs.children
            && lhs.attributes.map(\.name) == rhs.attributes.map(\.name)
            && lhs.attributes.map(\.value) == rhs.attributes.map(\.value)
    }
}

/// Reading XML (dialogue scripts) and validating it against an XSD (our timeline schema).
/// Network access and external entities are off: a script cannot make us read other files.
public enum XMLDocument {
    private static let parseOptions = Int32(XML_PARSE_NONET.rawValue | XML_PARSE_NOERROR.rawValue | XML_PARSE_NOWARNING.rawValue)

    public static func parse(_ data: Data, source: String) throws -> XMLElement {
        guard !data.isEmpty else { throw XMLError("xml.empty", "\(source): empty file, expected XML") }
        guard data.count < Int(Int32.max) else { throw XMLError("xml.tooLarge", "\(source): file too large") }
        xmlResetLastError()
        let document = data.withUnsafeBytes { raw in
            xmlReadMemory(raw.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(raw.count), source, nil, parseOptions)
        }
        guard let document else { throw XMLError("xml.syntax", "\(source): invalid XML (\(lastErrorText()))") }
        defer { xmlFreeDoc(document) }
        guard let root = xmlDocGetRootElement(document) else { throw XMLError("xml.empty", "\(source): no root element") }
        return convert(root)
    }

    /// Validates a document against an XSD. Returns nil when valid, else the first problem
    /// as `line N: message`.
    public static func validate(_ data: Data, source: String, schema schemaURL: URL) throws -> String? {
        xmlResetLastError()
        guard let parserContext = xmlSchemaNewParserCtxt(schemaURL.path) else {
            throw XMLError("xml.schema", "\(schemaURL.path): cannot open schema")
        }
        defer { xmlSchemaFreeParserCtxt(parserContext) }
        // libxml2 prints schema errors to stderr unless given a handler; keep the first one
        // for our one-line message instead.
        let collector = FirstErrorCollector()
        let context = Unmanaged.passUnretained(collector).toOpaque()
        xmlSchemaSetParserStructuredErrors(parserContext, collectFirstError, context)
        guard let schema = xmlSchemaParse(parserContext) else {
            throw XMLError("xml.schema", "\(schemaURL.path): invalid schema (\(collector.first ?? lastErrorText()))")
        }
        defer { xmlSchemaFree(schema) }
        guard let validContext = xmlSchemaNewValidCtxt(schema) else { throw XMLError("xml.memory", "out of memory") }
        defer { xmlSchemaFreeValidCtxt(validContext) }
        xmlSchemaSetValidStructuredErrors(validContext, collectFirstError, context)
        let document = data.withUnsafeBytes { raw in
            xmlReadMemory(raw.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(raw.count), source, nil, parseOptions)
        }
        guard let document else { return "invalid XML (\(lastErrorText()))" }
        defer { xmlFreeDoc(document) }
        xmlResetLastError()
        let status = withExtendedLifetime(collector) { xmlSchemaValidateDoc(validContext, document) }
        if status == 0 { return nil }
        return collector.first ?? lastErrorText()
    }

    private static func lastErrorText() -> String {
        errorText(xmlGetLastError()) ?? "unknown error"
    }

    fileprivate static func errorText(_ error: xmlErrorPtr?) -> String? {
        guard let error, let message = error.pointee.message else { return nil }
        let text = String(cString: message).trimmingCharacters(in: .whitespacesAndNewlines)
        return error.pointee.line > 0 ? "line \(error.pointee.line): \(text)" : text
    }

    private static func convert(_ node: xmlNodePtr) -> XMLElement {
        var element = XMLElement(
            name: String(cString: node.pointee.name), attributes: [], children: [], text: "",
            line: Int(xmlGetLineNo(node)))
        var attribute = node.pointee.properties
        while let current = attribute {
            let name = String(cString: current.pointee.name)
            if let value = xmlNodeGetContent(UnsafeMutableRawPointer(current).assumingMemoryBound(to: xmlNode.self)) {
                element.attributes.append((name, String(cString: value)))
                xmlFree(value)
            }
            attribute = current.pointee.next
        }
        var child = node.pointee.children
        while let current = child {
            switch current.pointee.type {
            case XML_ELEMENT_NODE:
                element.children.append(convert(current))
            case XML_TEXT_NODE, XML_CDATA_SECTION_NODE:
                if let content = current.pointee.content { element.text += String(cString: content) }
            default:
                break
            }
            child = current.pointee.next
        }
        return element
    }
}

/// Receives libxml2's structured errors for one call and keeps the first.
private final class FirstErrorCollector {
    var first: String?
}

private let collectFirstError: xmlStructuredErrorFunc = { context, error in
    guard let context else { return }
    let collector = Unmanaged<FirstErrorCollector>.fromOpaque(context).takeUnretainedValue()
    if collector.first == nil { collector.first = XMLDocument.errorText(error) }
}
