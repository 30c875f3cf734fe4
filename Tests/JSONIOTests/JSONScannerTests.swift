import Foundation
import JSONIO
import TestSupport
import Testing

@Suite struct JSONScannerTests {
    /// Number texts of every shape: shortest round-trip, %.17g, fixed decimals, exponents,
    /// long mantissas, zeros, subnormals, halfway cases and overflow.
    static func numberTexts(count: Int, seed: UInt64) -> [String] {
        var generator = SplitMix64(seed: seed)
        var texts = [
            "0", "-0", "0.0", "-0.0", "0e0", "-0e-5", "1", "-1", "1E+2", "1e-2", "2.5E3", "123456789012345678",
            "-123456789012345678", "9007199254740993", "9007199254740993.0", "9007199254740992.5", "4.9e-324",
            "2.4703282292062327e-324", "2.4703282292062328e-324", "2.2250738585072011e-308", "2.2250738585072014e-308",
            "1.7976931348623157e308", "1.7976931348623158e308", "1e309", "-1e400", "1e-400", "0.1", "0.30000000000000004",
            "3.141592653589793238462643383279502884197169399375105820974944", "1.00000000000000011102230246251565404236316680908203125",
            "1.00000000000000011102230246251565404236316680908203124", "123456789012345678901234567890e-20",
            "0.000000000000000000000000000000000000000000001", "1e22", "1e23", "9007199254740991e22", "9007199254740993e-22",
        ]
        for index in 0..<count {
            switch index % 6 {
            case 0:  // any finite Double, shortest text (what JSONCodec and our writer print)
                let value = Double(bitPattern: generator.next() & ~(0x7FF << 52) | (generator.next() % 0x7FF) << 52)
                texts.append("\(value)".replacingOccurrences(of: "e+", with: "e"))
            case 1:
                let value = Double(bitPattern: generator.next() & ~(0x7FF << 52) | (generator.next() % 0x7FF) << 52)
                texts.append(String(format: "%.17g", value))
            case 2:  // times as written: fixed decimals
                texts.append(String(format: "%.6f", Double(generator.next() % 10_000_000_000) / 1000))
            case 3:  // alpha-like values, shortest text
                texts.append("\(Double(generator.next() % 1_000_000_000) / Double(1 + generator.next() % 1_000_000))")
            case 4:  // long mantissas with exponents
                let digits = (0..<(1 + Int(generator.next() % 40))).map { _ in String(generator.next() % 10) }.joined()
                let exponent = Int(generator.next() % 700) - 350
                texts.append("\(generator.next() % 2 == 0 ? "-" : "")\(generator.next() % 9 + 1).\(digits)e\(exponent)")
            default:  // integers up to 18 digits
                let digits = 1 + Int(generator.next() % 18)
                let value = Int64(generator.next() % UInt64(pow(10.0, Double(digits))))
                texts.append("\(generator.next() % 2 == 0 ? -value : value)")
            }
        }
        return texts
    }

    @Test(arguments: [1, 2, 3])
    func numbersReadExactlyAsJSONC(seed: UInt64) throws {
        let texts = Self.numberTexts(count: 20_000, seed: seed)
        let list = texts.joined(separator: ",")
        let rows = stride(from: 0, to: texts.count, by: 7).map { "[" + texts[$0..<min($0 + 7, texts.count)].joined(separator: ", ") + "]" }
        let text = "{\"list\": [\(list)], \"rows\": [\(rows.joined(separator: ",\n"))], \"one\": \(texts[40])}"
        let members = try #require(JSONScanner.scanObject(Data(text.utf8)))
        let reference = try JSONCodec.parse(Data(text.utf8), source: "t.json")
        let expected = try #require(reference["list"]?.arrayValue).map { $0.doubleValue! }
        #expect(expected.count == texts.count)

        guard case .numbers(let values) = members[0].member else { Issue.record("list not flat"); return }
        guard case .rows(let flat, let rowEnds) = members[1].member else { Issue.record("rows not flat"); return }
        #expect(rowEnds.count == rows.count && rowEnds.last == texts.count)
        var mismatches = 0
        for (index, text) in texts.enumerated() {
            let viaStrtod = text.contains(where: { ".eE".contains($0) }) ? strtod(text, nil) : Double(Int64(text)!)
            if values[index].bitPattern != expected[index].bitPattern || flat[index].bitPattern != expected[index].bitPattern
                || values[index].bitPattern != viaStrtod.bitPattern
            {
                mismatches += 1
                if mismatches < 5 { Issue.record("\(text): scanner \(values[index]) json-c \(expected[index]) strtod \(viaStrtod)") }
            }
        }
        #expect(mismatches == 0)
        #expect(members[2].member == .value(reference["one"]!))
    }

    @Test func signsOfZeroFollowJSONC() throws {
        // json-c reads "-0" as the integer 0 (+0.0) and "-0.0" with strtod (-0.0).
        let members = try #require(JSONScanner.scanObject(Data(#"{"a": [-0, -0.0, -0e0]}"#.utf8)))
        guard case .numbers(let values) = members[0].member else { Issue.record("not flat"); return }
        #expect(values.map(\.sign) == [.plus, .minus, .minus])
    }

    @Test func otherValuesMatchTheJSONCTree() throws {
        let text = """
            \u{FEFF}{"s": "a\\"b\\\\c\\/d\\n\\t\\u00e9\\u20AC\\u0041", "plain": "Äpfel ✓", "n": null, "t": true, "f": false,
             "i": -42, "d": 2.5, "o": {"x": [1, "y", {"z": []}], "e": {}}, "empty": [], "mixed": ["a", 1],
             "strings": ["neutral", "happy"], "nested": [{"a": 1}]}
            """
        let members = try #require(JSONScanner.scanObject(Data(text.utf8)))
        let reference = try #require(try JSONCodec.parse(Data(text.utf8), source: "t.json").objectValue)
        #expect(members.map(\.key) == reference.keys)
        for (key, member) in members { #expect(member == .value(reference[key]!), "\(key)") }
    }

    @Test func flatMembersConvertToTheTree() throws {
        let members = try #require(JSONScanner.scanObject(Data(#"{"a": [1, 2.5], "b": [[1], [], [2, 3]]}"#.utf8)))
        #expect(members[0].member.jsonValue == [1.0, 2.5])
        #expect(members[1].member.jsonValue == [[1.0], [], [2.0, 3.0]])
    }

    /// Everything outside strict JSON, and everything json-c treats its own way, is left to
    /// json-c: the scanner answers nil, and json-c either reads it or gives a one-line error.
    @Test(arguments: [
        "", "   \n", "[1, 2]", "\"text\"", "7", "{", "{\"a\": [1, 2", "{\"a\": [1, 2]", "{\"a\": [[1, 2], [3",
        "{\"a\": 1} x", "{\"a\": 1}}", "{\"a\": 1,}", "{\"a\": [1, 2,]}", "{\"a\": [[1], [2],]}", "{\"a\" 1}", "{a: 1}",
        "{'a': 1}", "{\"a\": NaN}", "{\"a\": [1, NaN]}", "{\"a\": [[1, Infinity]]}", "{\"a\": [-Infinity]}",
        "{\"a\": [1, nan]}", "/* c */ {\"a\": 1}", "{\"a\": 1 // c\n}", "{\"a\": 01}", "{\"a\": [+1]}", "{\"a\": [.5]}",
        "{\"a\": [1.]}", "{\"a\": [1e]}", "{\"a\": [1e+]}", "{\"a\": [-]}", "{\"a\": [--1]}", "{\"a\": [0x10]}",
        "{\"a\": [12345678901234567890]}", "{\"a\": 1234567890123456789}", "{\"a\": [1, \"x\"]}",
        "{\"a\": [[1], \"x\"]}", "{\"a\": [[1, [2]]]}", "{\"a\": \"\\x\"}", "{\"a\": \"\\u12\"}", "{\"a\": \"\\ud83d\\ude00\"}",
        "{\"a\": \"\\udc00\"}", "{\"a\": \"tab\there\"}", "{\"a\": \"unterminated}", "{\"a\\u0062\": 1}", "{\"a\": 1, \"a\": 2}",
        "{\"o\": {\"k\": 1, \"k\": 2}}", "{\"a\": tru}", "{\"a\": nul}", "{\"a\": True}",
        "{\"deep\": " + String(repeating: "[", count: 40) + String(repeating: "]", count: 40) + "}",
        "{\"deep\": " + String(repeating: "[", count: 5000) + "}",
    ])
    func unusualInputGoesToJSONC(text: String) {
        #expect(JSONScanner.scanObject(Data(text.utf8)) == nil)
        do {
            _ = try JSONCodec.parse(Data(text.utf8), source: "t.json")
        } catch {
            let message = "\(error)"
            #expect(message.hasPrefix("t.json"), "\(message)")
            #expect(!message.contains("\n"), "\(message)")
        }
    }

    @Test func truncatedDocumentsNeverCrash() throws {
        let text = #"{"emotions": ["neutral", "h\u00e9"], "times": [0, 0.02, 1e-3], "alpha": [[1.5, 2e-6], [3, 4]], "x": {"y": [true, null]}}"#
        let bytes = Array(text.utf8)
        #expect(JSONScanner.scanObject(Data(bytes)) != nil)
        for length in 0..<bytes.count {
            #expect(JSONScanner.scanObject(Data(bytes[..<length])) == nil, "\(length)")
        }
    }

    @Test func readsALargeDocument() throws {
        let count = 300_000
        let text = "{\"v\": [" + (0..<count).map { "\(Double($0) / 64)" }.joined(separator: ",") + "]}"
        let members = try #require(JSONScanner.scanObject(Data(text.utf8)))
        guard case .numbers(let values) = members[0].member else { Issue.record("not flat"); return }
        #expect(values.count == count && values[count - 1] == Double(count - 1) / 64)
    }
}
