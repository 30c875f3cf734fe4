import CJSONC
import Common
import Foundation

/// The only code that calls json-c: parsing text into `JSONValue` and printing it back.
public enum JSONCodec {
    /// Parses a whole document. `source` names the file in error messages.
    public static func parse(_ data: Data, source: String) throws -> JSONValue {
        var bytes = [UInt8](data)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }  // UTF-8 BOM from Windows editors
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            throw JSONError("json.empty", "\(source): empty file, expected JSON")
        }
        guard bytes.count < Int(Int32.max) else {
            throw JSONError("json.tooLarge", "\(source): file too large for JSON (\(bytes.count) bytes)")
        }
        guard let tokener = json_tokener_new() else {
            throw JSONError("json.memory", "\(source): out of memory while parsing")
        }
        defer { json_tokener_free(tokener) }
        let root: OpaquePointer? = bytes.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
                json_tokener_parse_ex(tokener, $0, Int32(buffer.count))
            }
        }
        let status = json_tokener_get_error(tokener)
        let end = Int(json_tokener_get_parse_end(tokener))
        guard let root, status == json_tokener_success else {
            if let root { json_object_put(root) }
            let reason: String
            if status == json_tokener_continue {
                reason = "unexpected end of file"
            } else {
                reason = String(cString: json_tokener_error_desc(status))
            }
            let (line, column) = lineAndColumn(of: min(end, bytes.count), in: bytes)
            throw JSONError("json.syntax", "\(source):\(line):\(column): invalid JSON (\(reason))")
        }
        defer { json_object_put(root) }
        if bytes[end...].contains(where: { !($0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09) }) {
            let (line, column) = lineAndColumn(of: end, in: bytes)
            throw JSONError("json.syntax", "\(source):\(line):\(column): unexpected text after the JSON document")
        }
        return convert(root)
    }

    public static func parse(contentsOf url: URL) throws -> JSONValue {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw JSONError("json.read", "\(url.path): cannot read file (\(FileManager.default.fileExists(atPath: url.path) ? "permission or I/O error" : "no such file"))")
        }
        return try parse(data, source: url.path)
    }

    public enum Style: Sendable {
        /// Two-space indentation, one value per line.
        case pretty
        /// No whitespace at all.
        case compact
    }

    /// Prints a value; the text ends with a newline. Non-finite numbers are refused.
    public static func serialize(_ value: JSONValue, style: Style = .pretty) throws -> String {
        let object = try build(value)
        defer { if let object { json_object_put(object) } }
        var flags = JSON_C_TO_STRING_NOSLASHESCAPE
        switch style {
        case .pretty: flags |= JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED
        case .compact: flags |= JSON_C_TO_STRING_PLAIN
        }
        guard let text = json_object_to_json_string_ext(object, Int32(flags)) else {
            throw JSONError("json.memory", "out of memory while writing JSON")
        }
        return String(cString: text) + "\n"
    }

    public static func serializedData(_ value: JSONValue, style: Style = .pretty) throws -> Data {
        Data(try serialize(value, style: style).utf8)
    }

    private static func convert(_ object: OpaquePointer?) -> JSONValue {
        guard let object else { return .null }
        switch json_object_get_type(object) {
        case json_type_null: return .null
        case json_type_boolean: return .bool(json_object_get_boolean(object) != 0)
        case json_type_int: return .integer(json_object_get_int64(object))
        case json_type_double: return .number(json_object_get_double(object))
        case json_type_string:
            let length = Int(json_object_get_string_len(object))
            guard let pointer = json_object_get_string(object) else { return .string("") }
            return .string(
                pointer.withMemoryRebound(to: UInt8.self, capacity: length) {
                    String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
                })
        case json_type_array:
            let count = json_object_array_length(object)
            var items: [JSONValue] = []
            items.reserveCapacity(count)
            for index in 0..<count { items.append(convert(json_object_array_get_idx(object, index))) }
            return .array(items)
        case json_type_object:
            var entries: [(key: String, value: JSONValue)] = []
            var iterator = json_object_iter_begin(object)
            var end = json_object_iter_end(object)
            while json_object_iter_equal(&iterator, &end) == 0 {
                let name = String(cString: json_object_iter_peek_name(&iterator))
                entries.append((name, convert(json_object_iter_peek_value(&iterator))))
                json_object_iter_next(&iterator)
            }
            return .object(JSONObject(entries))
        default:
            return .null
        }
    }

    private static func build(_ value: JSONValue) throws -> OpaquePointer? {
        switch value {
        case .null: return nil
        case .bool(let flag): return json_object_new_boolean(flag ? 1 : 0)
        case .integer(let number): return json_object_new_int64(number)
        case .number(let number):
            guard number.isFinite else { throw JSONError("json.nonFinite", "cannot write \(number) in JSON") }
            return json_object_new_double_s(number, shortestText(number))
        case .decimal(let number, let places):
            guard number.isFinite else { throw JSONError("json.nonFinite", "cannot write \(number) in JSON") }
            return json_object_new_double_s(number, FixedDecimal.trimmed(number, places))
        case .string(let text):
            return text.utf8CString.withUnsafeBufferPointer {
                json_object_new_string_len($0.baseAddress!, Int32($0.count - 1))
            }
        case .array(let items):
            let array = json_object_new_array_ext(Int32(items.count))
            for item in items {
                let child = try build(item)
                json_object_array_add(array, child)
            }
            return array
        case .object(let object):
            let result = json_object_new_object()
            for (key, item) in object.entries {
                let child = try build(item)
                json_object_object_add(result, key, child)
            }
            return result
        }
    }

    /// Swift's shortest round-trip text, with an exponent JSON accepts ("1e-06", not "1e-06.0").
    private static func shortestText(_ number: Double) -> String {
        if number == number.rounded(), abs(number) < 1e15 {
            return String(Int64(number))
        }
        return "\(number)"
    }

    private static func lineAndColumn(of offset: Int, in bytes: [UInt8]) -> (Int, Int) {
        var line = 1
        var column = 1
        for byte in bytes[..<offset] {
            if byte == 0x0A {
                line += 1
                column = 1
            } else {
                column += 1
            }
        }
        return (line, column)
    }
}
