import AudioIO
import Foundation
import Testing
import TestSupport

/// Broken input: every case gives an AudioError whose one-line message names the file.
@Suite("AudioDecoder: broken files")
struct AudioErrorTests {
    func expectError(_ url: URL, code: String, mentioning words: [String] = []) {
        do {
            let audio = try AudioDecoder.read(url)
            Issue.record("\(url.lastPathComponent): decoded \(audio.samples.count) samples, expected \(code)")
        } catch let error as AudioError {
            #expect(error.code == code, "\(error.message)")
            #expect(error.message.hasPrefix(url.path), "\(error.message)")
            #expect(!error.message.contains("\n"))
            for word in words { #expect(error.message.contains(word), "\(error.message)") }
        } catch {
            Issue.record("\(url.lastPathComponent): unexpected error type \(error)")
        }
    }

    /// A canonical 16-bit mono PCM WAV header announcing `dataBytes` of samples.
    func wavHeader(dataBytes: UInt32, channels: UInt16 = 1, rate: UInt32 = 16_000) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.append(ascii: "RIFF"); bytes.append(le: UInt32(36) &+ dataBytes); bytes.append(ascii: "WAVE")
        bytes.append(ascii: "fmt "); bytes.append(le: UInt32(16)); bytes.append(le: UInt16(1)); bytes.append(le: channels)
        bytes.append(le: rate); bytes.append(le: rate &* UInt32(channels) &* 2); bytes.append(le: channels &* 2); bytes.append(le: UInt16(16))
        bytes.append(ascii: "data"); bytes.append(le: dataBytes)
        return bytes
    }

    @Test func missingFile() {
        expectError(TestAudio.folder.appendingPathComponent("nowhere.wav"), code: "audio.missing", mentioning: ["no such file"])
    }

    @Test func folderInsteadOfFile() throws {
        let url = TestAudio.folder.appendingPathComponent("a-folder.wav")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        expectError(url, code: "audio.notFile")
    }

    @Test func emptyFile() throws {
        expectError(try TestAudio.bytes("empty.wav", []), code: "audio.empty", mentioning: ["0 bytes"])
    }

    @Test func headerWithoutSamples() throws {
        expectError(try TestAudio.bytes("header-only.wav", wavHeader(dataBytes: 0)), code: "audio.empty")
    }

    @Test func textFileNamedWav() throws {
        expectError(try TestAudio.bytes("notes.wav", Array("these are not samples\n".utf8)), code: "audio.unsupported")
    }

    @Test func randomBytes() throws {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<50_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        expectError(try TestAudio.bytes("noise.flac", bytes), code: "audio.unsupported")
    }

    @Test func truncatedWav() throws {
        // The header promises 32000 bytes (1 s); only 1000 follow.
        let samples = [UInt8](repeating: 0x10, count: 1_000)
        expectError(try TestAudio.bytes("truncated.wav", wavHeader(dataBytes: 32_000) + samples), code: "audio.truncated", mentioning: ["32000", "1000"])
    }

    @Test func truncatedFlac() throws {
        let whole = try TestAudio.sox("whole.flac", rate: 44_100, channels: 2, seconds: 3, outputOptions: ["-b", "16"])
        let bytes = try Data(contentsOf: whole)
        let cut = try TestAudio.bytes("cut.flac", Array(bytes.prefix(bytes.count / 2)))
        // libFLAC reports a cut stream as lost sync; the message says how far it got.
        expectError(cut, code: "audio.corrupt", mentioning: ["of the 132300 frames", "truncated or corrupt"])
    }

    @Test func corruptFlacFrames() throws {
        let whole = try TestAudio.sox("whole2.flac", rate: 44_100, channels: 2, seconds: 3, outputOptions: ["-b", "16"])
        var bytes = [UInt8](try Data(contentsOf: whole))
        // Keep the stream header, scramble the audio frames.
        var generator = SystemRandomNumberGenerator()
        for index in 8_300..<bytes.count { bytes[index] = UInt8.random(in: 0...255, using: &generator) }
        let url = try TestAudio.bytes("scrambled.flac", bytes)
        do {
            _ = try AudioDecoder.read(url)
            Issue.record("scrambled FLAC decoded without an error")
        } catch let error as AudioError {
            #expect(["audio.corrupt", "audio.truncated"].contains(error.code), "\(error.message)")
            #expect(error.message.hasPrefix(url.path))
        }
    }

    @Test func zeroChannels() throws {
        expectError(try TestAudio.bytes("zero-channels.wav", wavHeader(dataBytes: 64, channels: 0) + [UInt8](repeating: 0, count: 64)), code: "audio.unsupported")
    }

    @Test func absurdSampleRate() throws {
        let url = try TestAudio.bytes("rate.wav", wavHeader(dataBytes: 64, rate: 4_000_000_000) + [UInt8](repeating: 0, count: 64))
        do {
            _ = try AudioDecoder.read(url)
            Issue.record("a 4 GHz WAV decoded")
        } catch let error as AudioError {
            #expect(["audio.invalidHeader", "audio.unsupported"].contains(error.code), "\(error.message)")
            #expect(error.message.hasPrefix(url.path))
        }
    }

    @Test func rf64ClaimingTerabytes() throws {
        // RF64: the ds64 chunk carries 64-bit sizes; it claims 4 TB of 16-bit samples.
        let claimed: UInt64 = 4_000_000_000_000
        var bytes: [UInt8] = []
        bytes.append(ascii: "RF64"); bytes.append(le: UInt32.max); bytes.append(ascii: "WAVE")
        bytes.append(ascii: "ds64"); bytes.append(le: UInt32(28)); bytes.append(le: claimed + 72); bytes.append(le: claimed)
        bytes.append(le: claimed / 2); bytes.append(le: UInt32(0))
        bytes.append(ascii: "fmt "); bytes.append(le: UInt32(16)); bytes.append(le: UInt16(1)); bytes.append(le: UInt16(1))
        bytes.append(le: UInt32(16_000)); bytes.append(le: UInt32(32_000)); bytes.append(le: UInt16(2)); bytes.append(le: UInt16(16))
        bytes.append(ascii: "data"); bytes.append(le: UInt32.max)
        bytes += [UInt8](repeating: 0, count: 4_096)
        let url = try TestAudio.bytes("terabytes.wav", bytes)
        do {
            _ = try AudioDecoder.read(url)
            Issue.record("a 4 TB header decoded")
        } catch let error as AudioError {
            #expect(error.code == "audio.absurdHeader", "\(error.message)")
            #expect(error.message.contains("4.0 TB"), "\(error.message)")
            #expect(error.message.hasPrefix(url.path))
        }
    }

    @Test func nonFiniteFloatSamples() throws {
        var bytes: [UInt8] = []
        bytes.append(ascii: "RIFF"); bytes.append(le: UInt32(36 + 16)); bytes.append(ascii: "WAVE")
        bytes.append(ascii: "fmt "); bytes.append(le: UInt32(16)); bytes.append(le: UInt16(3)); bytes.append(le: UInt16(1))
        bytes.append(le: UInt32(16_000)); bytes.append(le: UInt32(64_000)); bytes.append(le: UInt16(4)); bytes.append(le: UInt16(32))
        bytes.append(ascii: "data"); bytes.append(le: UInt32(16))
        for value in [Float(0.1), .nan, 0.2, 0.3] { bytes.append(le: value.bitPattern) }
        expectError(try TestAudio.bytes("nan.wav", bytes), code: "audio.nonFinite", mentioning: ["sample 1"])
    }
}
