/// Typed access with errors that say which field of which file is wrong. Every reader of
/// our JSON formats (tracks, presets, projects, model configs) goes through these.
public struct JSONField {
    public let value: JSONValue
    /// Where this value sits, for messages: `file.json: emotions[3]`.
    public let path: String
    public let source: String

    public init(_ value: JSONValue, source: String, path: String = "") {
        self.value = value
        self.source = source
        self.path = path
    }

    private var location: String { path.isEmpty ? source : "\(source): \(path)" }

    public func fail(_ problem: String, code: String = "json.field") -> JSONError {
        JSONError(code, "\(location): \(problem)")
    }

    public func optional(_ key: String) throws -> JSONField? {
        guard let object = value.objectValue else { throw fail("expected an object, found \(value.kindName)") }
        guard let child = object[key], child != .null else { return nil }
        return JSONField(child, source: source, path: path.isEmpty ? key : "\(path).\(key)")
    }

    public func required(_ key: String) throws -> JSONField {
        guard let child = try optional(key) else { throw fail("missing field \"\(key)\"") }
        return child
    }

    public func array() throws -> [JSONField] {
        guard let items = value.arrayValue else { throw fail("expected an array, found \(value.kindName)") }
        return items.enumerated().map { JSONField($1, source: source, path: "\(path)[\($0)]") }
    }

    public func object() throws -> [(key: String, field: JSONField)] {
        guard let object = value.objectValue else { throw fail("expected an object, found \(value.kindName)") }
        return object.entries.map { ($0.key, JSONField($0.value, source: source, path: path.isEmpty ? $0.key : "\(path).\($0.key)")) }
    }

    public func string() throws -> String {
        guard let text = value.stringValue else { throw fail("expected a string, found \(value.kindName)") }
        return text
    }

    /// A finite number.
    public func double() throws -> Double {
        guard let number = value.doubleValue else { throw fail("expected a number, found \(value.kindName)") }
        guard number.isFinite else { throw fail("number is not finite") }
        return number
    }

    public func double(in range: ClosedRange<Double>) throws -> Double {
        let number = try double()
        guard range.contains(number) else { throw fail("\(number) is outside \(range.lowerBound)...\(range.upperBound)") }
        return number
    }

    public func int() throws -> Int {
        guard let number = value.intValue else { throw fail("expected a whole number, found \(value.kindName)") }
        return number
    }

    public func bool() throws -> Bool {
        guard let flag = value.boolValue else { throw fail("expected true or false, found \(value.kindName)") }
        return flag
    }

    public func strings() throws -> [String] { try array().map { try $0.string() } }
    public func doubles() throws -> [Double] { try array().map { try $0.double() } }
}
