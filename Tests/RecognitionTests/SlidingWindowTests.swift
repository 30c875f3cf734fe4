import AudioIO
import EmotionCore
import Foundation
import Testing
import TestSupport

@testable import Recognition

/// Reports each window's start (its first sample's value) and length as alpha, so a test can
/// see exactly which samples every frame heard.
final class WindowRecorder: EmotionModel {
    let emotions = ["first", "length"]
    let sampleRate = 16_000
    let identifier = "window-recorder"
    var output: (ArraySlice<Float>) -> [Double] = { [Double($0.first!) + 1, Double($0.count)] }
    func alpha(for samples: ArraySlice<Float>) throws -> [Double] { output(samples) }
}

@Suite("Sliding-window prediction")
struct SlidingWindowTests {
    /// Sample i has the value i, so a window's first sample names its start.
    static func ramp(_ count: Int) -> AudioBuffer { AudioBuffer(samples: (0..<count).map(Float.init), sampleRate: 16_000) }

    @Test func windowsAtHopsPlusOneAlignedToTheEnd() throws {
        let track = try SlidingWindowPredictor(window: 1, hop: 0.5).predict(Self.ramp(41_600), model: WindowRecorder(), source: "ramp")
        // 2.6 s: windows at 0, 0.5, 1.0, 1.5 s fit; the tail gets one more window ending at 2.6 s.
        #expect(track.times == [0.5, 1.0, 1.5, 2.0, 2.1])
        #expect((0..<track.frameCount).map { track.alpha(frame: $0).first! - 1 } == [0, 8_000, 16_000, 24_000, 25_600])
        #expect((0..<track.frameCount).allSatisfy { track.alpha(frame: $0).last! == 16_000 })
        #expect(track.emotions == ["first", "length"])
        #expect(track.source == "ramp")
        #expect(track.model == "window-recorder")
    }

    @Test func windowsThatEndExactlyAtTheClipEndNeedNoExtraOne() throws {
        let track = try SlidingWindowPredictor(window: 1, hop: 0.5).predict(Self.ramp(32_000), model: WindowRecorder(), source: "ramp")
        #expect(track.times == [0.5, 1.0, 1.5])
    }

    @Test(arguments: [1, 400, 11_200, 16_000])
    func aClipNoLongerThanOneWindowIsOneFrame(_ count: Int) throws {
        let track = try SlidingWindowPredictor(window: 1, hop: 0.25).predict(Self.ramp(count), model: WindowRecorder(), source: "short")
        #expect(track.frameCount == 1)
        #expect(track.times == [Double(count) / 2 / 16_000])
        #expect(Array(track.alpha(frame: 0)) == [1, Double(count)])
    }

    @Test func streamingGivesTheSameTrackAsTheWholeBuffer() throws {
        let folder = TestPaths.temporaryDirectory("window")
        let url = folder.appendingPathComponent("speech.wav")
        let made = try TestProcess.run("sox", ["-n", "-r", "44100", "-c", "2", "-b", "16", url.path, "synth", "3.3", "sine", "300-900", "sine", "500"])
        #expect(made.status == 0, "\(made.standardError)")
        let model = try ModelLoader.load(directory: TestPaths.fixtures.appendingPathComponent("models/tiny-wav2vec2-base-dirichlet"))
        let predictor = SlidingWindowPredictor(window: 0.8, hop: 0.3)
        let whole = try predictor.predict(try AudioDecoder.read(url), model: model, source: "speech.wav")
        let streamed = try predictor.predict(try AudioStream(url: url, blockFrames: 5_000), model: model, source: "speech.wav")
        // Same windows, same frames; alpha equal up to float rounding (other tests in this process
        // may change OpenBLAS's thread count, which can move the last bit).
        #expect(whole.times == streamed.times)
        #expect(whole.emotions == streamed.emotions)
        #expect(zip(whole.alpha, streamed.alpha).allSatisfy { abs($0 - $1) <= 1e-5 * max(1, abs($0)) })
        #expect(whole.frameCount == 10)  // 0, 0.3, ... 2.4 s (9 windows) + one ending at 3.3 s
        #expect(whole.emotionCount == 7)
        // Different windows hear different audio.
        #expect(Set(whole.alpha).count > 20)
    }

    @Test func refusesBadSettingsAndBadOutput() throws {
        let audio = Self.ramp(20_000)
        for (window, hop) in [(0.0, 0.25), (1.0, 0.0), (-1.0, 0.5), (Double.nan, 0.5), (1.0, 1e-9)] {
            #expect(throws: RecognitionError.self) { _ = try SlidingWindowPredictor(window: window, hop: hop).predict(audio, model: WindowRecorder(), source: "x") }
        }
        #expect(throws: RecognitionError.self) {
            _ = try SlidingWindowPredictor().predict(AudioBuffer(samples: [0, 1], sampleRate: 8_000), model: WindowRecorder(), source: "x")
        }
        #expect(throws: RecognitionError.self) {
            _ = try SlidingWindowPredictor().predict(AudioBuffer(samples: [], sampleRate: 16_000), model: WindowRecorder(), source: "x")
        }
        let broken = WindowRecorder()
        broken.output = { _ in [.nan, 1] }
        do {
            _ = try SlidingWindowPredictor().predict(audio, model: broken, source: "clip.wav")
            Issue.record("NaN alpha accepted")
        } catch let error as RecognitionError {
            #expect(error.code == "window.badOutput")
            #expect(error.message.hasPrefix("clip.wav: "))
        }
    }
}
