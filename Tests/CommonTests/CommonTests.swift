import Common
import Foundation
import TestSupport
import Testing

@Suite struct SHA256Tests {
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        (
            "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        ),
    ])
    func fipsVectors(input: String, expected: String) {
        #expect(SHA256.hex(of: input) == expected)
    }

    @Test func millionAs() {
        #expect(SHA256.hex(of: Data(repeating: 0x61, count: 1_000_000))
            == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }
}

@Suite struct DecimalFormatTests {
    @Test(arguments: [
        (0.5, 3, "0.500"), (-0.0, 2, "0.00"), (-0.0001, 3, "0.000"), (1.23456, 4, "1.2346"), (100.0, 0, "100"),
    ])
    func fixed(value: Double, places: Int, expected: String) {
        #expect(DecimalFormat.fixed(value, places) == expected)
    }

    @Test func trimmed() {
        #expect(DecimalFormat.trimmed(0.5, 6) == "0.5")
        #expect(DecimalFormat.trimmed(2.0, 6) == "2")
        #expect(DecimalFormat.trimmed(0.0000001, 6) == "0")
    }
}

@Suite struct AtomicFileTests {
    @Test func writesAndLeavesNoTemporary() throws {
        let directory = TestPaths.temporaryDirectory("atomic")
        let target = directory.appendingPathComponent("sub/out.txt")
        try AtomicFile.write("hello", to: target)
        #expect(try String(contentsOf: target, encoding: .utf8) == "hello")
        try AtomicFile.write("again", to: target)
        #expect(try String(contentsOf: target, encoding: .utf8) == "again")
        let names = try FileManager.default.contentsOfDirectory(atPath: target.deletingLastPathComponent().path)
        #expect(names == ["out.txt"])
    }

    @Test func failureLeavesNothing() throws {
        let directory = TestPaths.temporaryDirectory("atomic-fail")
        // The destination is an existing non-empty directory: rename must fail.
        let target = directory.appendingPathComponent("taken")
        try FileManager.default.createDirectory(at: target.appendingPathComponent("inner"), withIntermediateDirectories: true)
        #expect(throws: CommonError.self) { try AtomicFile.write("x", to: target) }
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        #expect(names == ["taken"])
    }
}

@Suite struct SHA256StreamingTests {
    /// Feeding the same bytes in pieces of every awkward size gives the one-shot digest.
    @Test(arguments: [1, 3, 63, 64, 65, 200])
    func piecesMatchOneShot(pieceSize: Int) {
        let bytes = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        var hasher = SHA256Hasher()
        var start = 0
        while start < bytes.count {
            let end = min(bytes.count, start + pieceSize)
            hasher.update(Array(bytes[start..<end]))
            start = end
        }
        #expect(hasher.finalize() == SHA256.hex(of: Data(bytes)))
    }
}
