import Foundation
import JSONIO
import Testing
import TestSupport

@testable import Neural

@Suite("Safetensors: read, write, refuse broken files")
struct SafetensorsTests {
    let folder = TestPaths.temporaryDirectory("safetensors")

    func sample() -> [String: Tensor] {
        [
            "b.weight": Tensor(shape: [2, 3], data: [1, -2, 3.5, 0, 1e-8, -65504]),
            "a.bias": Tensor(shape: [3], data: [0.25, 0.5, -0.75]),
            "scalar": Tensor(shape: [], data: [42]),
            "empty": Tensor(shape: [0, 4], data: []),
        ]
    }

    @Test func roundTripsFloat32Exactly() throws {
        let url = folder.appendingPathComponent("round.safetensors")
        try SafetensorsWriter.write(sample(), metadata: ["format": "pt", "note": "test"], to: url)
        let file = try SafetensorsFile(url: url)
        #expect(file.names == ["a.bias", "b.weight", "empty", "scalar"])
        #expect(file.metadata == ["format": "pt", "note": "test"])
        for (name, tensor) in sample() { #expect(try file.tensor(name) == tensor) }
        // Deterministic bytes; data section 8-byte aligned.
        let bytes = try Data(contentsOf: url)
        #expect(try SafetensorsWriter.data(sample(), metadata: ["note": "test", "format": "pt"]) == bytes)
        let headerLength = bytes.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        #expect(headerLength % 8 == 0)
    }

    @Test(arguments: [SafetensorsWriter.Storage.f16, .bf16])
    func roundTripsHalfTypesWithinTheirPrecision(_ storage: SafetensorsWriter.Storage) throws {
        let url = folder.appendingPathComponent("half-\(storage).safetensors")
        let values: [Float] = [0, -0.0, 1, -1, 0.1, 3.14159, 1000, -2.5e-3, 6e-5]
        try SafetensorsWriter.write(["x": Tensor(shape: [values.count], data: values)], storage: storage, to: url)
        let read = try SafetensorsFile(url: url).tensor("x").data
        let relative: Float = storage == .f16 ? 1.0 / 2048 : 1.0 / 256
        for (original, back) in zip(values, read) {
            #expect(abs(original - back) <= abs(original) * relative + (storage == .f16 ? 6e-8 : 0), "\(original) -> \(back)")
        }
        #expect(try SafetensorsFile(url: url).entries["x"]?.dtype == (storage == .f16 ? "F16" : "BF16"))
    }

    @Test func halfConversionMatchesIEEEBitPatterns() {
        // (binary16 bits, value): normals, the largest, the smallest subnormal, infinity.
        let cases: [(UInt16, Float)] = [
            (0x3C00, 1), (0xC000, -2), (0x3555, 0.333251953125), (0x7BFF, 65504), (0x0001, 5.9604645e-8),
            (0x03FF, 6.097555e-5), (0x0400, 6.1035156e-5), (0x7C00, .infinity), (0x8000, -0.0),
        ]
        for (bits, value) in cases {
            #expect(FloatConversion.float(fromHalf: bits) == value, "0x\(String(bits, radix: 16))")
            #expect(FloatConversion.half(from: value) == bits, "\(value)")
        }
        #expect(FloatConversion.float(fromHalf: 0x7E00).isNaN)
        #expect(FloatConversion.float(fromBFloat: 0x3F80) == 1)
        #expect(FloatConversion.float(fromBFloat: 0xC049) == -3.140625)
        #expect(FloatConversion.bfloat(from: 1.00390625) == 0x3F80)  // ties to even
        #expect(FloatConversion.bfloat(from: 1.01171875) == 0x3F82)
        // Every finite half survives half -> float -> half.
        for bits in UInt16(0)...UInt16.max where (bits & 0x7C00) != 0x7C00 {
            if FloatConversion.half(from: FloatConversion.float(fromHalf: bits)) != bits {
                Issue.record("0x\(String(bits, radix: 16)) does not round-trip")
                break
            }
        }
    }

    // MARK: - Broken files

    /// A file with `header` as its JSON header and `dataBytes` zero bytes of data.
    func raw(_ name: String, header: String, dataBytes: Int, declaredLength: UInt64? = nil) throws -> URL {
        var bytes: [UInt8] = []
        let length = declaredLength ?? UInt64(header.utf8.count)
        for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: length >> UInt64(shift))) }
        bytes += Array(header.utf8)
        bytes += [UInt8](repeating: 0, count: dataBytes)
        let url = folder.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url
    }

    func expectError(_ code: String, mentioning words: [String] = [], _ body: () throws -> Void) {
        do {
            try body()
            Issue.record("expected \(code), got no error")
        } catch let error as NeuralError {
            #expect(error.code == code, "\(error.message)")
            #expect(!error.message.contains("\n"))
            for word in words { #expect(error.message.contains(word), "\(error.message)") }
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test func refusesBrokenFiles() throws {
        let good = #"{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}"#
        let missing = folder.appendingPathComponent("nowhere.safetensors")
        expectError("safetensors.missing", mentioning: [missing.path]) { _ = try SafetensorsFile(url: missing) }
        let tiny = folder.appendingPathComponent("tiny.safetensors")
        try Data([1, 2, 3]).write(to: tiny)
        expectError("safetensors.truncated", mentioning: [tiny.path]) { _ = try SafetensorsFile(url: tiny) }
        let huge = try raw("huge.safetensors", header: good, dataBytes: 16, declaredLength: 1 << 40)
        expectError("safetensors.badHeader", mentioning: ["not plausible"]) { _ = try SafetensorsFile(url: huge) }
        let cutHeader = try raw("cut-header.safetensors", header: String(good.prefix(20)), dataBytes: 0, declaredLength: UInt64(good.utf8.count))
        expectError("safetensors.truncated") { _ = try SafetensorsFile(url: cutHeader) }
        let cutData = try raw("cut-data.safetensors", header: good, dataBytes: 10)
        expectError("safetensors.truncated", mentioning: ["\"w\"", "10 bytes"]) { _ = try SafetensorsFile(url: cutData) }
        let notJSON = try raw("not-json.safetensors", header: "{this is not json", dataBytes: 0)
        expectError("safetensors.badHeader", mentioning: ["invalid JSON"]) { _ = try SafetensorsFile(url: notJSON) }
        let badSize = try raw("bad-size.safetensors", header: #"{"w":{"dtype":"F32","shape":[3,2],"data_offsets":[0,16]}}"#, dataBytes: 16)
        expectError("safetensors.badHeader", mentioning: ["w.data_offsets", "(3, 2)"]) { _ = try SafetensorsFile(url: badSize) }
        let noDtype = try raw("no-dtype.safetensors", header: #"{"w":{"shape":[2],"data_offsets":[0,8]}}"#, dataBytes: 8)
        expectError("safetensors.badHeader", mentioning: ["missing field \"dtype\""]) { _ = try SafetensorsFile(url: noDtype) }
        let unknown = try raw("unknown.safetensors", header: #"{"w":{"dtype":"F12","shape":[2],"data_offsets":[0,8]}}"#, dataBytes: 8)
        expectError("safetensors.badHeader", mentioning: ["F12"]) { _ = try SafetensorsFile(url: unknown) }
        let overlap = try raw(
            "overlap.safetensors",
            header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#,
            dataBytes: 12)
        expectError("safetensors.overlap") { _ = try SafetensorsFile(url: overlap) }
        let integers = try raw("ints.safetensors", header: #"{"ids":{"dtype":"I64","shape":[2],"data_offsets":[0,16]}}"#, dataBytes: 16)
        let file = try SafetensorsFile(url: integers)
        expectError("safetensors.dtype", mentioning: ["I64"]) { _ = try file.tensor("ids") }
        let weights = try SafetensorsFile(url: try raw("ok.safetensors", header: good, dataBytes: 16))
        expectError("safetensors.missingTensor", mentioning: ["\"v\""]) { _ = try weights.tensor("v") }
        expectError("safetensors.shape", mentioning: ["(2, 2)", "(4)"]) { _ = try weights.tensor("w", shape: [4]) }
        #expect(try weights.tensor("w", shape: [2, 2]).data == [0, 0, 0, 0])
    }
}
