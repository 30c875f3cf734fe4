import Common
import Foundation
import JSONIO

/// Writes safetensors files that any reader (PyTorch's `safetensors.torch.load_file`, ours) loads.
///
/// Byte-deterministic: tensors in name order, packed back to back in that order, a compact JSON
/// header padded with spaces to a multiple of 8 bytes (so that the data section is aligned, as
/// the format recommends). Written through `AtomicFile`: never half a file.
public enum SafetensorsWriter {
    public enum Storage: Sendable {
        case f32, f16, bf16
        var name: String {
            switch self {
            case .f32: return "F32"
            case .f16: return "F16"
            case .bf16: return "BF16"
            }
        }
    }

    public static func data(_ tensors: [String: Tensor], metadata: [String: String] = [:], storage: Storage = .f32) throws -> Data {
        let names = tensors.keys.sorted()
        var header = JSONObject()
        if !metadata.isEmpty {
            header["__metadata__"] = .object(JSONObject(metadata.keys.sorted().map { ($0, JSONValue.string(metadata[$0]!)) }))
        }
        let elementSize = storage == .f32 ? 4 : 2
        var offset = 0
        for name in names {
            guard name != "__metadata__" else { throw NeuralError("safetensors.name", "a tensor cannot be named __metadata__") }
            let tensor = tensors[name]!
            let bytes = tensor.count * elementSize
            header[name] = .object(
                JSONObject([
                    ("dtype", .string(storage.name)),
                    ("shape", .array(tensor.shape.map { .integer(Int64($0)) })),
                    ("data_offsets", .array([.integer(Int64(offset)), .integer(Int64(offset + bytes))])),
                ]))
            offset += bytes
        }
        var headerText = try JSONCodec.serialize(.object(header), style: .compact)
        headerText.removeLast()  // the codec's trailing newline
        while headerText.utf8.count % 8 != 0 { headerText.append(" ") }
        var output = Data(capacity: 8 + headerText.utf8.count + offset)
        withUnsafeBytes(of: UInt64(headerText.utf8.count).littleEndian) { output.append(contentsOf: $0) }
        output.append(contentsOf: Array(headerText.utf8))
        for name in names {
            let values = tensors[name]!.data
            switch storage {
            case .f32:
                values.withUnsafeBytes { output.append(contentsOf: $0) }
            case .f16:
                let halves = values.map { FloatConversion.half(from: $0).littleEndian }
                halves.withUnsafeBytes { output.append(contentsOf: $0) }
            case .bf16:
                let halves = values.map { FloatConversion.bfloat(from: $0).littleEndian }
                halves.withUnsafeBytes { output.append(contentsOf: $0) }
            }
        }
        return output
    }

    public static func write(_ tensors: [String: Tensor], metadata: [String: String] = [:], storage: Storage = .f32, to url: URL) throws {
        try AtomicFile.write(try data(tensors, metadata: metadata, storage: storage), to: url)
    }
}
