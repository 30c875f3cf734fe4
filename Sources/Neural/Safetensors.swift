import Common
import Foundation
import JSONIO

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Element types of safetensors files that load as Float32.
public enum SafetensorsType: String, Sendable, CaseIterable {
    case f32 = "F32"
    case f16 = "F16"
    case bf16 = "BF16"
    case f64 = "F64"

    public var byteCount: Int {
        switch self {
        case .f32: return 4
        case .f16, .bf16: return 2
        case .f64: return 8
        }
    }

    /// Every dtype the format defines, with its size, so that a file holding integer tensors
    /// (index buffers) still opens; those tensors just cannot be read as Float.
    static let allSizes: [String: Int] = [
        "BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
        "I32": 4, "U32": 4, "F32": 4, "F64": 8, "I64": 8, "U64": 8,
    ]
}

/// One tensor's entry in a safetensors header.
public struct SafetensorsEntry: Sendable, Equatable {
    public var name: String
    public var dtype: String
    public var shape: [Int]
    /// Byte range inside the data section (after the header).
    public var begin: Int
    public var end: Int
}

/// A safetensors file (https://github.com/huggingface/safetensors, format 0.x), memory-mapped.
///
/// Layout: 8-byte little-endian header length N, N bytes of JSON header
/// `{"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}}`,
/// then the data section. Everything in the header is checked against the file before any
/// tensor is read: offsets inside the data section, sizes matching shape x dtype, no overlaps.
/// Tensors are converted to Float32 on read (F16, BF16, F64 exactly or by rounding for F64).
public final class SafetensorsFile {
    public let url: URL
    /// Entries by name.
    public let entries: [String: SafetensorsEntry]
    /// The free-form string map under `__metadata__`.
    public let metadata: [String: String]
    private let mapping: UnsafeMutableRawPointer?
    private let mappedSize: Int
    private let dataStart: Int

    /// Header sizes past this are refused (the reference implementation's own limit).
    public static let maximumHeaderBytes = 100_000_000

    public init(url: URL) throws {
        self.url = url
        let path = url.path
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else {
            let reason = errno == ENOENT ? "no such file" : String(cString: strerror(errno))
            throw NeuralError("safetensors.missing", "\(path): cannot open weights (\(reason))")
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else {
            throw NeuralError("safetensors.notFile", "\(path): not a regular file")
        }
        let size = Int(status.st_size)
        guard size >= 8 else {
            throw NeuralError("safetensors.truncated", "\(path): \(size) bytes, too short for a safetensors header")
        }
        guard let mapped = mmap(nil, size, PROT_READ, MAP_PRIVATE, descriptor, 0), mapped != MAP_FAILED else {
            throw NeuralError("safetensors.map", "\(path): cannot map the file (\(String(cString: strerror(errno))))")
        }
        mapping = mapped
        mappedSize = size
        var headerLength: UInt64 = 0
        withUnsafeMutableBytes(of: &headerLength) { $0.copyMemory(from: UnsafeRawBufferPointer(start: mapped, count: 8)) }
        headerLength = UInt64(littleEndian: headerLength)
        do {
            guard headerLength <= UInt64(Self.maximumHeaderBytes) else {
                throw NeuralError("safetensors.badHeader", "\(path): header length \(headerLength) bytes is not plausible (corrupt or not a safetensors file)")
            }
            guard 8 + Int(headerLength) <= size else {
                throw NeuralError("safetensors.truncated", "\(path): truncated: header of \(headerLength) bytes, but the file has \(size) bytes")
            }
            dataStart = 8 + Int(headerLength)
            let headerBytes = Data(bytes: mapped + 8, count: Int(headerLength))
            (entries, metadata) = try Self.parseHeader(headerBytes, dataBytes: size - dataStart, path: path)
        } catch {
            munmap(mapped, size)
            throw error
        }
    }

    deinit {
        if let mapping { munmap(mapping, mappedSize) }
    }

    /// Tensor names, sorted.
    public var names: [String] { entries.keys.sorted() }

    public func contains(_ name: String) -> Bool { entries[name] != nil }

    /// Reads one tensor as Float32. When `shape` is given the stored shape must equal it.
    public func tensor(_ name: String, shape expected: [Int]? = nil) throws -> Tensor {
        guard let entry = entries[name] else {
            throw NeuralError("safetensors.missingTensor", "\(url.path): no tensor \"\(name)\"")
        }
        if let expected, expected != entry.shape {
            throw NeuralError(
                "safetensors.shape",
                "\(url.path): tensor \"\(name)\" has shape \(Tensor.describe(entry.shape)), expected \(Tensor.describe(expected))")
        }
        guard let type = SafetensorsType(rawValue: entry.dtype) else {
            throw NeuralError("safetensors.dtype", "\(url.path): tensor \"\(name)\" has dtype \(entry.dtype), expected F32, F16, BF16 or F64")
        }
        let count = entry.shape.reduce(1, *)
        var values = [Float](repeating: 0, count: count)
        let source = UnsafeRawPointer(mapping!) + dataStart + entry.begin
        values.withUnsafeMutableBufferPointer { out in
            switch type {
            case .f32:
                // Offsets need not be 4-aligned: copy bytes (little-endian on every platform we build for).
                UnsafeMutableRawBufferPointer(out).copyMemory(from: UnsafeRawBufferPointer(start: source, count: count * 4))
            case .f16:
                for index in 0..<count { out[index] = FloatConversion.float(fromHalf: source.loadUnaligned(fromByteOffset: 2 * index, as: UInt16.self)) }
            case .bf16:
                for index in 0..<count { out[index] = FloatConversion.float(fromBFloat: source.loadUnaligned(fromByteOffset: 2 * index, as: UInt16.self)) }
            case .f64:
                for index in 0..<count { out[index] = Float(source.loadUnaligned(fromByteOffset: 8 * index, as: Double.self)) }
            }
        }
        releasePages(from: dataStart + entry.begin, to: dataStart + entry.end)
        return Tensor(shape: entry.shape, data: values)
    }

    /// Drops the mapped pages lying wholly inside a tensor that has just been copied out, so
    /// that loading a model never holds the file and the copies in memory at once (the pages
    /// come back from the page cache if the tensor is read again).
    private func releasePages(from begin: Int, to end: Int) {
        guard let mapping else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let first = (begin + page - 1) / page * page
        let last = end / page * page
        if last > first { madvise(mapping + first, last - first, Int32(MADV_DONTNEED)) }
    }

    static func parseHeader(_ bytes: Data, dataBytes: Int, path: String) throws -> ([String: SafetensorsEntry], [String: String]) {
        let root: JSONValue
        do {
            root = try JSONCodec.parse(bytes, source: "\(path) (header)")
        } catch let error as JSONError {
            throw NeuralError("safetensors.badHeader", error.message)
        }
        let header = JSONField(root, source: "\(path) (header)")
        var entries: [String: SafetensorsEntry] = [:]
        var metadata: [String: String] = [:]
        do {
            for (key, field) in try header.object() {
                if key == "__metadata__" {
                    for (name, value) in try field.object() { metadata[name] = try value.string() }
                    continue
                }
                let dtype = try field.required("dtype").string()
                guard let elementSize = SafetensorsType.allSizes[dtype] else {
                    throw field.fail("unknown dtype \"\(dtype)\"")
                }
                let shapeField = try field.required("shape")
                let shape = try shapeField.array().map { try $0.int() }
                guard shape.allSatisfy({ $0 >= 0 }) else { throw shapeField.fail("negative dimension in \(shape)") }
                let offsets = try field.required("data_offsets")
                let pair = try offsets.array().map { try $0.int() }
                guard pair.count == 2, pair[0] >= 0, pair[0] <= pair[1] else {
                    throw offsets.fail("expected [begin, end] with 0 <= begin <= end, found \(pair)")
                }
                guard pair[1] <= dataBytes else {
                    throw NeuralError(
                        "safetensors.truncated",
                        "\(path): truncated: tensor \"\(key)\" ends at byte \(pair[1]) of the data section, which has \(dataBytes) bytes")
                }
                var elements = 1
                for dimension in shape {
                    let (product, overflow) = elements.multipliedReportingOverflow(by: dimension)
                    guard !overflow else { throw shapeField.fail("shape \(shape) is too large") }
                    elements = product
                }
                guard pair[1] - pair[0] == elements * elementSize else {
                    throw offsets.fail(
                        "\(pair[1] - pair[0]) bytes do not hold shape \(Tensor.describe(shape)) of \(dtype) (\(elements * elementSize) bytes)")
                }
                entries[key] = SafetensorsEntry(name: key, dtype: dtype, shape: shape, begin: pair[0], end: pair[1])
            }
        } catch let error as JSONError {
            throw NeuralError("safetensors.badHeader", error.message)
        }
        // Tensors may not overlap (the format also asks for no gaps; tolerated here).
        let sorted = entries.values.sorted { ($0.begin, $0.end) < ($1.begin, $1.end) }
        for (previous, next) in zip(sorted, sorted.dropFirst()) where next.begin < previous.end {
            throw NeuralError("safetensors.overlap", "\(path): tensors \"\(previous.name)\" and \"\(next.name)\" overlap in the data section")
        }
        return (entries, metadata)
    }
}
