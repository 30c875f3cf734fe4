import Foundation
import JSONIO
import Testing

@Suite struct JSONCodecTests {
    @Test func roundTripKeepsOrderAndValues() throws {
        let text = #"{"b": 1, "a": [1.5, "x", true, null], "c": {"z": -2e-3}}"#
        let value = try JSONCodec.parse(Data(text.utf8), source: "t.json")
        #expect(value.objectValue?.keys == ["b", "a", "c"])
        #expect(value["a"]?.arrayValue?[0].doubleValue == 1.5)
        #expect(value["c"]?["z"]?.doubleValue == -0.002)
        let printed = try JSONCodec.serialize(value, style: .compact)
        #expect(printed == #"{"b":1,"a":[1.5,"x",true,null],"c":{"z":-0.002}}"# + "\n")
        #expect(try JSONCodec.parse(Data(printed.utf8), source: "again") == value)
    }

    @Test func decimalsAreFixed() throws {
        let value: JSONValue = .array([.decimal(0.123456789, places: 4), .decimal(2, places: 3), .number(1e-7)])
        #expect(try JSONCodec.serialize(value, style: .compact) == "[0.1235,2,1e-07]\n")
    }

    @Test(arguments: [
        ("", "empty file"), ("{\"a\": 1", "t.json:1:"), ("[1, 2] x", "unexpected text"), ("{a: 1}", "invalid JSON"),
    ])
    func errorsNameTheFile(text: String, fragment: String) {
        do {
            _ = try JSONCodec.parse(Data(text.utf8), source: "t.json")
            Issue.record("parsed invalid JSON \(text)")
        } catch let error as JSONError {
            #expect(error.message.hasPrefix("t.json"))
            #expect(error.message.contains(fragment))
        } catch {
            Issue.record("wrong error \(error)")
        }
    }

    @Test func nonFiniteIsRefusedOnWrite() {
        #expect(throws: JSONError.self) { try JSONCodec.serialize(.number(.nan)) }
    }

    @Test func fieldErrorsNameThePath() throws {
        let value = try JSONCodec.parse(Data(#"{"rig": {"weights": [1, "two"]}}"#.utf8), source: "p.json")
        let field = JSONField(value, source: "p.json")
        #expect(throws: JSONError.self) { try field.required("rig").required("weights").doubles() }
        do {
            _ = try field.required("rig").required("weights").doubles()
        } catch let error as JSONError {
            #expect(error.message == "p.json: rig.weights[1]: expected a number, found a string")
        }
    }
}
