import Foundation

/// A member of a document's top-level object as read by `JSONScanner`: large numeric
/// arrays come back flat, everything else as a `JSONValue`.
public enum ScannedMember: Equatable, Sendable {
    case value(JSONValue)
    /// A non-empty array whose elements are all numbers.
    case numbers([Double])
    /// A non-empty array whose elements are all arrays of numbers: row `i` is
    /// `values[rowEnds[i - 1]..<rowEnds[i]]` (from 0 for the first row).
    case rows(values: [Double], rowEnds: [Int])

    /// The member as the `JSONValue` json-c would give, for readers that want a tree.
    /// Numbers come back as `.number` (json-c gives `.integer` for "7"): the same
    /// `doubleValue`, `intValue` and `kindName`.
    public var jsonValue: JSONValue {
        switch self {
        case .value(let value): return value
        case .numbers(let values): return .array(values.map { .number($0) })
        case .rows(let values, let rowEnds):
            var start = 0
            return .array(
                rowEnds.map { end in
                    defer { start = end }
                    return .array(values[start..<end].map { .number($0) })
                })
        }
    }
}

/// A strict JSON (RFC 8259) reader for documents that hold a few large arrays of numbers,
/// such as emotion tracks: it reads the bytes once and fills flat `Double` arrays, with no
/// object per number. Numbers read to exactly the Double that json-c gives (strtod,
/// correctly rounded): Clinger's exact fast path when the digits and the power of ten
/// are both exact in a Double, strtod otherwise.
///
/// It answers nil, meaning "use `JSONCodec.parse`", for anything unusual rather than
/// judging it, so that errors and json-c's leniencies stay exactly as they were:
/// malformed or truncated JSON, trailing text, a top level that is not an object, empty
/// input, NaN/Infinity/comments/single quotes (json-c extensions), numbers that are not
/// strict JSON (`01`, `+1`, `.5`, `1.`), integers of more than 18 digits, keys with
/// escapes, duplicate keys, `\u` escapes of surrogates, control characters in strings,
/// nesting deeper than 16, and arrays at the top level that start as numbers (or
/// arrays of numbers) but then hold something else.
public enum JSONScanner {
    /// The top-level object's members in file order, or nil when the document should go
    /// through json-c (see above).
    public static func scanObject(_ data: Data) -> [(key: String, member: ScannedMember)]? {
        guard data.count < Int(Int32.max) else { return nil }  // json-c's limit: let it give the error
        return data.withUnsafeBytes { raw -> [(key: String, member: ScannedMember)]? in
            var scanner = Scanner(bytes: raw.bindMemory(to: UInt8.self))
            return try? scanner.document()
        }
    }

    /// Thrown for anything the scanner leaves to json-c; never seen outside this file.
    private struct Unusual: Error {}

    private static let maximumDepth = 16

    /// 10^0 ... 10^22: every one exact in a Double.
    private static let powersOfTen: [Double] = (0...22).map { exponent in
        var value = 1.0
        for _ in 0..<exponent { value *= 10 }
        return value
    }

    private struct Scanner {
        let bytes: UnsafeBufferPointer<UInt8>
        var position = 0

        init(bytes: UnsafeBufferPointer<UInt8>) {
            self.bytes = bytes
            if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { position = 3 }  // UTF-8 BOM, as JSONCodec
        }

        /// The byte at the cursor, or 0 at the end (0 is never valid JSON outside strings).
        private var current: UInt8 { position < bytes.count ? bytes[position] : 0 }

        private mutating func skipWhitespace() {
            while position < bytes.count {
                switch bytes[position] {
                case 0x20, 0x0A, 0x0D, 0x09: position += 1
                default: return
                }
            }
        }

        private mutating func expect(_ byte: UInt8) throws {
            skipWhitespace()
            guard current == byte else { throw Unusual() }
            position += 1
        }

        /// True (and consumed) when the next non-blank byte is `byte`.
        private mutating func take(_ byte: UInt8) -> Bool {
            skipWhitespace()
            guard current == byte else { return false }
            position += 1
            return true
        }

        mutating func document() throws -> [(key: String, member: ScannedMember)] {
            try expect(UInt8(ascii: "{"))
            let members = try objectMembers { try $0.member() }
            skipWhitespace()
            guard position == bytes.count else { throw Unusual() }
            return members.map { (key: $0.key, member: $0.value) }
        }

        /// An object's members up to and including the closing brace (the cursor is past
        /// the opening one), each value read by `value`.
        private mutating func objectMembers<Value>(_ value: (inout Scanner) throws -> Value) throws
            -> [(key: String, value: Value)]
        {
            var members: [(key: String, value: Value)] = []
            var keys = Set<String>()
            if !take(UInt8(ascii: "}")) {
                repeat {
                    skipWhitespace()
                    let key = try string(isKey: true)
                    guard keys.insert(key).inserted else { throw Unusual() }  // json-c keeps the last: leave it to json-c
                    try expect(UInt8(ascii: ":"))
                    members.append((key, try value(&self)))
                } while take(UInt8(ascii: ","))
                try expect(UInt8(ascii: "}"))
            }
            return members
        }

        /// A top-level member: arrays of numbers and arrays of arrays of numbers are read flat.
        private mutating func member() throws -> ScannedMember {
            skipWhitespace()
            guard current == UInt8(ascii: "[") else { return .value(try value(depth: 1)) }
            let start = position
            position += 1
            skipWhitespace()
            switch current {
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                var values: [Double] = []
                try numbers(into: &values)
                return .numbers(values)
            case UInt8(ascii: "["):
                var values: [Double] = []
                var rowEnds: [Int] = []
                repeat {
                    try expect(UInt8(ascii: "["))
                    if !take(UInt8(ascii: "]")) { try numbers(into: &values) }
                    rowEnds.append(values.count)
                } while take(UInt8(ascii: ","))
                try expect(UInt8(ascii: "]"))
                return .rows(values: values, rowEnds: rowEnds)
            default:
                position = start
                return .value(try value(depth: 1))
            }
        }

        /// Numbers separated by commas up to and including the closing bracket.
        private mutating func numbers(into values: inout [Double]) throws {
            repeat {
                skipWhitespace()
                values.append(try number().value)
            } while take(UInt8(ascii: ","))
            try expect(UInt8(ascii: "]"))
        }

        private mutating func value(depth: Int) throws -> JSONValue {
            guard depth <= maximumDepth else { throw Unusual() }
            skipWhitespace()
            switch current {
            case UInt8(ascii: "{"):
                position += 1
                return .object(JSONObject(try objectMembers { try $0.value(depth: depth + 1) }))
            case UInt8(ascii: "["):
                position += 1
                var items: [JSONValue] = []
                if !take(UInt8(ascii: "]")) {
                    repeat { items.append(try value(depth: depth + 1)) } while take(UInt8(ascii: ","))
                    try expect(UInt8(ascii: "]"))
                }
                return .array(items)
            case UInt8(ascii: "\""):
                return .string(try string(isKey: false))
            case UInt8(ascii: "t"):
                try literal("true")
                return .bool(true)
            case UInt8(ascii: "f"):
                try literal("false")
                return .bool(false)
            case UInt8(ascii: "n"):
                try literal("null")
                return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                let (value, integer) = try number()
                if let integer { return .integer(integer) }
                return .number(value)
            default:
                throw Unusual()
            }
        }

        private mutating func literal(_ word: StaticString) throws {
            let count = word.utf8CodeUnitCount
            guard position + count <= bytes.count else { throw Unusual() }
            for index in 0..<count where bytes[position + index] != word.utf8Start[index] { throw Unusual() }
            position += count
        }

        /// A string at the cursor (which is on the opening quote). Keys with escapes go to
        /// json-c, which reads keys as C strings.
        private mutating func string(isKey: Bool) throws -> String {
            guard current == UInt8(ascii: "\"") else { throw Unusual() }
            position += 1
            let start = position
            while position < bytes.count {
                let byte = bytes[position]
                if byte == UInt8(ascii: "\"") {
                    defer { position += 1 }
                    return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
                }
                if byte == UInt8(ascii: "\\") {
                    guard !isKey else { throw Unusual() }
                    return try escapedString(from: start)
                }
                guard byte >= 0x20 else { throw Unusual() }
                position += 1
            }
            throw Unusual()
        }

        /// The rest of a string that has escapes; the cursor is on the first backslash.
        private mutating func escapedString(from start: Int) throws -> String {
            var text = Array(bytes[start..<position])
            while position < bytes.count {
                let byte = bytes[position]
                position += 1
                switch byte {
                case UInt8(ascii: "\""):
                    return String(decoding: text, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    guard position < bytes.count else { throw Unusual() }
                    let escape = bytes[position]
                    position += 1
                    switch escape {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): text.append(escape)
                    case UInt8(ascii: "b"): text.append(0x08)
                    case UInt8(ascii: "f"): text.append(0x0C)
                    case UInt8(ascii: "n"): text.append(0x0A)
                    case UInt8(ascii: "r"): text.append(0x0D)
                    case UInt8(ascii: "t"): text.append(0x09)
                    case UInt8(ascii: "u"):
                        let code = try hexQuad()
                        // Surrogates (pairs or lone) are left to json-c and its own repair rules.
                        guard let scalar = Unicode.Scalar(code) else { throw Unusual() }
                        text.append(contentsOf: UTF8.encode(scalar)!)
                    default:
                        throw Unusual()
                    }
                default:
                    guard byte >= 0x20 else { throw Unusual() }
                    text.append(byte)
                }
            }
            throw Unusual()
        }

        private mutating func hexQuad() throws -> UInt32 {
            guard position + 4 <= bytes.count else { throw Unusual() }
            var code: UInt32 = 0
            for _ in 0..<4 {
                let byte = bytes[position]
                let digit: UInt8
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
                default: throw Unusual()
                }
                code = code * 16 + UInt32(digit)
                position += 1
            }
            return code
        }

        /// A strict JSON number at the cursor. `integer` is set for numbers without a
        /// fraction or exponent, which json-c keeps as int64 (so "-0" is +0.0, as there).
        private mutating func number() throws -> (value: Double, integer: Int64?) {
            let start = position
            let negative = current == UInt8(ascii: "-")
            if negative { position += 1 }
            var mantissa: UInt64 = 0
            var significantDigits = 0  // digits taken into the mantissa after leading zeros
            var exact = true  // false once a digit did not fit in the mantissa
            var fractionDigits = 0

            func digit(_ byte: UInt8) -> UInt64? {
                byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") ? UInt64(byte - UInt8(ascii: "0")) : nil
            }
            func accumulate(_ value: UInt64) {
                if mantissa == 0 && value == 0 { return }
                if significantDigits < 19 {
                    mantissa = mantissa * 10 + value
                    significantDigits += 1
                } else {
                    exact = false
                }
            }

            if current == UInt8(ascii: "0") {
                position += 1
                if digit(current) != nil { throw Unusual() }  // leading zero
            } else {
                guard digit(current) != nil else { throw Unusual() }
                while let value = digit(current) {
                    accumulate(value)
                    position += 1
                }
            }
            var isInteger = true
            if current == UInt8(ascii: ".") {
                isInteger = false
                position += 1
                guard digit(current) != nil else { throw Unusual() }
                while let value = digit(current) {
                    if exact { fractionDigits += 1 }
                    accumulate(value)
                    position += 1
                }
            }
            var exponent = 0
            if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
                isInteger = false
                position += 1
                var exponentNegative = false
                if current == UInt8(ascii: "-") || current == UInt8(ascii: "+") {
                    exponentNegative = current == UInt8(ascii: "-")
                    position += 1
                }
                guard digit(current) != nil else { throw Unusual() }
                while let value = digit(current) {
                    if exponent < 100_000 { exponent = exponent * 10 + Int(value) }
                    position += 1
                }
                if exponentNegative { exponent = -exponent }
            }

            if isInteger {
                // json-c reads these with strtoll and saturates past int64: leave long ones to it.
                guard exact, significantDigits <= 18 else { throw Unusual() }
                let integer = negative ? -Int64(mantissa) : Int64(mantissa)
                return (Double(integer), integer)
            }
            let power = exponent - fractionDigits
            if exact, mantissa <= 1 << 53, power >= -22, power <= 22 {
                // Clinger: both operands are exact Doubles, so the one rounding of the product
                // or quotient gives the correctly rounded result, as strtod does.
                let magnitude =
                    power >= 0 ? Double(mantissa) * powersOfTen[power] : Double(mantissa) / powersOfTen[-power]
                return (negative ? -magnitude : magnitude, nil)
            }
            return (try strtodValue(start..<position), nil)
        }

        /// strtod of the number's text, as json-c does (the process runs in the C locale).
        private func strtodValue(_ range: Range<Int>) throws -> Double {
            let count = range.count
            return withUnsafeTemporaryAllocation(of: CChar.self, capacity: count + 1) { buffer in
                for index in 0..<count { buffer[index] = CChar(bitPattern: bytes[range.lowerBound + index]) }
                buffer[count] = 0
                return strtod(buffer.baseAddress!, nil)
            }
        }
    }
}
