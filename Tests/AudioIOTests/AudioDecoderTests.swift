import AudioIO
import CSndFile
import Common
import Foundation
import Testing
import TestSupport

/// One sox- or libsndfile-made file: a 440 Hz sine whose mono mix has amplitude 0.4.
struct FormatCase: CustomStringConvertible, Sendable {
    var name: String
    var rate: Int
    var channels: Int
    var soxOptions: [String]?
    var sndfileFormat: Int32?
    /// Max abs difference to the ideal 0.4 * sin(440 Hz) after resampling, away from the edges.
    var tolerance: Float
    /// Lossy codecs shift and pad the signal: their samples are compared by level and pitch only.
    var lossy: Bool = false
    var description: String { name }
}

let formatCases: [FormatCase] = [
    FormatCase(name: "u8.wav", rate: 8_000, channels: 1, soxOptions: ["-b", "8", "-e", "unsigned-integer"], tolerance: 0.01),
    FormatCase(name: "s16-44100-stereo.wav", rate: 44_100, channels: 2, soxOptions: ["-b", "16"], tolerance: 1e-3),
    FormatCase(name: "s24-48000.wav", rate: 48_000, channels: 1, soxOptions: ["-b", "24"], tolerance: 1e-4),
    FormatCase(name: "s32-22050-stereo.wav", rate: 22_050, channels: 2, soxOptions: ["-b", "32", "-e", "signed-integer"], tolerance: 1e-4),
    FormatCase(name: "f32-16000.wav", rate: 16_000, channels: 1, soxOptions: ["-b", "32", "-e", "floating-point"], tolerance: 1e-6),
    FormatCase(name: "f32-11025-6ch.wav", rate: 11_025, channels: 6, soxOptions: ["-b", "32", "-e", "floating-point"], tolerance: 1e-4),
    FormatCase(name: "s16-44100.flac", rate: 44_100, channels: 2, soxOptions: ["-b", "16"], tolerance: 1e-3),
    FormatCase(name: "s24-96000.flac", rate: 96_000, channels: 1, soxOptions: ["-b", "24"], tolerance: 1e-4),
    FormatCase(name: "s16-32000.aiff", rate: 32_000, channels: 2, soxOptions: ["-b", "16"], tolerance: 1e-3),
    FormatCase(name: "s24-16000.aiff", rate: 16_000, channels: 1, soxOptions: ["-b", "24"], tolerance: 1e-5),
    FormatCase(name: "vorbis-48000.ogg", rate: 48_000, channels: 2, soxOptions: ["-C", "5"], tolerance: 0, lossy: true),
    FormatCase(
        name: "mp3-44100.mp3", rate: 44_100, channels: 2,
        sndfileFormat: Int32(SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III), tolerance: 0, lossy: true),
    FormatCase(
        name: "opus-48000.opus", rate: 48_000, channels: 1, sndfileFormat: Int32(SF_FORMAT_OGG | SF_FORMAT_OPUS),
        tolerance: 0, lossy: true),
]

@Suite("AudioDecoder: formats, rates, bit depths")
struct AudioDecoderFormatTests {
    static let seconds = 1.5

    @Test(arguments: formatCases)
    func decodesToSixteenKilohertzMono(_ format: FormatCase) throws {
        let url: URL
        if let options = format.soxOptions {
            url = try TestAudio.sox(format.name, rate: format.rate, channels: format.channels, seconds: Self.seconds, outputOptions: options)
        } else {
            url = try TestAudio.sndfile(format.name, format: format.sndfileFormat!, rate: format.rate, channels: format.channels, seconds: Self.seconds)
        }
        let info = try AudioDecoder.info(url)
        #expect(info.sampleRate == format.rate)
        #expect(info.channels == format.channels)
        let audio = try AudioDecoder.read(url)
        #expect(audio.sampleRate == 16_000)
        let expectedCount = Int(Self.seconds * 16_000)
        if format.lossy {
            // Encoders add a few ms of priming and padding.
            #expect(abs(audio.samples.count - expectedCount) < 2_000, "\(audio.samples.count) samples")
            // Level: RMS of 0.4 * sine is 0.283; pitch: 440 Hz dominates 300 Hz and 600 Hz.
            let middle = Array(audio.samples[4_000..<20_000])
            let rms = (middle.reduce(0) { $0 + $1 * $1 } / Float(middle.count)).squareRoot()
            #expect(abs(rms - 0.2828) < 0.03, "rms \(rms)")
            let at440 = goertzelPower(middle, frequency: 440), at300 = goertzelPower(middle, frequency: 300)
            #expect(at440 > 100 * at300)
        } else {
            #expect(abs(audio.samples.count - expectedCount) <= 1, "\(audio.samples.count) samples")
            var worst: Float = 0
            for index in 1_000..<(expectedCount - 1_000) {
                let ideal = 0.4 * Float(sin(2 * Double.pi * 440 * Double(index) / 16_000))
                worst = max(worst, abs(audio.samples[index] - ideal))
            }
            #expect(worst <= format.tolerance, "max abs error \(worst)")
        }
    }

    @Test func streamBlocksStayBoundedAndMatchTheWholeRead() throws {
        let url = try TestAudio.sox("long-44100.wav", rate: 44_100, channels: 2, seconds: 20, outputOptions: ["-b", "16"])
        let stream = try AudioStream(url: url, blockFrames: 4_096)
        var joined: [Float] = []
        var largest = 0
        var blocks = 0
        while let block = try stream.next() {
            largest = max(largest, block.count)
            joined += block
            blocks += 1
        }
        // 4096 input frames at 44.1 kHz are 1486 output samples; the filter may release a little more.
        #expect(largest <= 4_096, "largest block \(largest)")
        #expect(blocks > 200)
        #expect(stream.framesDecoded == 20 * 44_100)
        let whole = try AudioDecoder.read(url)
        #expect(joined == whole.samples)
        #expect(stream.samplesDelivered == 320_000)
    }

    @Test func keepsANonDefaultTargetRate() throws {
        let url = try TestAudio.sox("target-22050.wav", rate: 22_050, channels: 1, seconds: 1, outputOptions: ["-b", "16"])
        let audio = try AudioDecoder.read(url, targetRate: 8_000)
        #expect(audio.sampleRate == 8_000)
        #expect(abs(audio.samples.count - 8_000) <= 1)
        #expect(abs(audio.duration - 1) < 0.001)
    }
}

/// Power of `samples` at one frequency (16 kHz), Goertzel's recurrence.
func goertzelPower(_ samples: [Float], frequency: Double, rate: Double = 16_000) -> Double {
    let coefficient = 2 * cos(2 * Double.pi * frequency / rate)
    var previous = 0.0, beforePrevious = 0.0
    for sample in samples {
        let current = Double(sample) + coefficient * previous - beforePrevious
        beforePrevious = previous
        previous = current
    }
    return previous * previous + beforePrevious * beforePrevious - coefficient * previous * beforePrevious
}
