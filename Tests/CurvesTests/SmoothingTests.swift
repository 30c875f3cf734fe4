import Curves
import Foundation
import Testing
import TestSupport

@Suite("Smoothing filters and presets")
struct SmoothingTests {
    func run(_ filter: SmoothingFilter, _ samples: [Double], h: Double) throws -> [Double] {
        try SmoothingPreset(name: "test", filters: [filter]).smooth(samples, sampleInterval: h)
    }

    /// 0 at frame 0, 1 from frame 1 on.
    func step(_ count: Int) -> [Double] { (0..<count).map { $0 == 0 ? 0 : 1 } }

    @Test func shippedPresets() throws {
        let names = try SmoothingPreset.availableNames(presetsDirectory: TestPaths.presets)
        for name in ["raw", "game", "film"] { #expect(names.contains(name)) }
        #expect(try Presets.smoothing("raw").filters.isEmpty)
        #expect(try Presets.smoothing("game").filters == [.oneEuro(minCutoff: 0.5, beta: 2, derivativeCutoff: 1)])
        #expect(try Presets.smoothing("film").filters == [.gaussian(sigma: 0.06)])
        #expect(try Presets.smoothing(SmoothingPreset.defaultName).name == "film")
        let text = try SmoothingPreset(name: "chain", filters: [.savitzkyGolay(window: 0.4, order: 2), .gaussian(sigma: 0.04)]).describe()
        #expect(text.contains("1. savitzkyGolay window=0.4s order=2\n"))
        #expect(text.contains("2. gaussian sigma=0.04s\n"))
        #expect(try Presets.smoothing("raw").describe().contains("filters: none"))
    }

    @Test(arguments: [0.05, 0.1, 0.5])
    func exponentialStepResponseIsExact(timeConstant: Double) throws {
        let h = 0.01
        let output = try run(.exponential(timeConstant: timeConstant, zeroPhase: false), step(200), h: h)
        for n in 1..<200 {
            #expect(abs(output[n] - (1 - exp(-Double(n) * h / timeConstant))) < 1e-12)
        }
        // After one time constant: 1 - 1/e.
        let atTau = Int((timeConstant / h).rounded())
        #expect(abs(output[atTau] - 0.632_120_558_8) < 1e-9)
    }

    @Test func oneEuroWithoutBetaIsTheExponentialOfThePaper() throws {
        let h = 1.0 / 60
        let cutoff = 2.0
        let alpha = 1 / (1 + (1 / (2 * Double.pi * cutoff)) / h)
        let output = try run(.oneEuro(minCutoff: cutoff, beta: 0, derivativeCutoff: 1), step(100), h: h)
        for n in 1..<100 { #expect(abs(output[n] - (1 - pow(1 - alpha, Double(n)))) < 1e-12) }
    }

    @Test func oneEuroSpeedRaisesTheCutoff() throws {
        let h = 0.01
        let (minCutoff, beta, derivativeCutoff) = (1.0, 0.5, 1.0)
        let output = try run(.oneEuro(minCutoff: minCutoff, beta: beta, derivativeCutoff: derivativeCutoff), step(3), h: h)
        // By hand from Casiez et al.: frame 1 sees dx = (1 - 0) / h, filtered at 1 Hz, cutoff = 1 + beta |edx|.
        func alpha(_ cutoff: Double) -> Double { 1 / (1 + 1 / (2 * Double.pi * cutoff * h)) }
        let edx1 = alpha(derivativeCutoff) * (1 / h)
        let y1 = alpha(minCutoff + beta * edx1)
        let edx2 = edx1 + alpha(derivativeCutoff) * ((1 - y1) / h - edx1)
        let y2 = y1 + alpha(minCutoff + beta * edx2) * (1 - y1)
        #expect(abs(output[1] - y1) < 1e-12)
        #expect(abs(output[2] - y2) < 1e-12)
        let slow = try run(.oneEuro(minCutoff: minCutoff, beta: 0, derivativeCutoff: derivativeCutoff), step(3), h: h)
        #expect(output[1] > slow[1] * 3)  // a fast move passes more than three times as fast
    }

    @Test(arguments: [0.1, 0.25])
    func springStepResponseIsTheCriticallyDampedSolution(smoothTime: Double) throws {
        let h = 0.01
        let omega = 2 / smoothTime
        let output = try run(.criticallyDampedSpring(smoothTime: smoothTime, zeroPhase: false), step(300), h: h)
        for n in 1..<300 {
            let t = Double(n) * h
            #expect(abs(output[n] - (1 - (1 + omega * t) * exp(-omega * t))) < 1e-12)
            #expect(output[n] <= 1)  // critically damped: no overshoot
        }
    }

    @Test(arguments: [(2, 0.21), (3, 0.21), (4, 0.31), (2, 0.05)])
    func savitzkyGolayKeepsPolynomialsUpToItsOrderEvenAtTheEnds(order: Int, window: Double) throws {
        let h = 0.01
        let coefficients = [0.3, 0.4, -0.5, 0.25, -0.1]
        let samples = (0..<120).map { n -> Double in
            let t = Double(n) * h
            var value = 0.0
            for (power, c) in coefficients.prefix(order + 1).enumerated() { value += c * pow(t, Double(power)) }
            return value
        }
        let output = try run(.savitzkyGolay(window: window, order: order), samples, h: h)
        for n in samples.indices { #expect(abs(output[n] - samples[n]) < 1e-9, "frame \(n)") }
    }

    @Test func savitzkyGolayHasTheClassicFivePointWeights() throws {
        // Window of 5 samples, quadratic: (-3, 12, 17, 12, -3) / 35.
        var impulse = [Double](repeating: 0, count: 21)
        impulse[10] = 1
        let output = try run(.savitzkyGolay(window: 4, order: 2), impulse, h: 1)
        let expected = [-3.0, 12, 17, 12, -3].map { $0 / 35 }
        for (offset, value) in expected.enumerated() { #expect(abs(output[8 + offset] - value) < 1e-12) }
        #expect(output[7] == 0 && output[13] == 0)
    }

    @Test func gaussianPreservesConstantsAndHasItsWidth() throws {
        let h = 0.01
        let sigma = 0.05
        let constant = try run(.gaussian(sigma: sigma), [Double](repeating: 0.7, count: 50), h: h)
        for value in constant { #expect(abs(value - 0.7) < 1e-12) }
        var impulse = [Double](repeating: 0, count: 101)
        impulse[50] = 1
        let response = try run(.gaussian(sigma: sigma), impulse, h: h)
        #expect(abs(response.reduce(0, +) - 1) < 1e-12)
        var variance = 0.0
        for (n, value) in response.enumerated() { variance += value * pow(Double(n - 50) * h, 2) }
        // Sampled every sigma / 5 and cut at 3 sigma, a Gaussian keeps 0.980 of its variance.
        #expect(abs(variance / (sigma * sigma) - 0.980) < 0.001)
        for k in 1...20 { #expect(abs(response[50 - k] - response[50 + k]) < 1e-15) }
        #expect(response[50 + 16] == 0)  // beyond 3 sigma (15 samples)
    }

    @Test(arguments: [
        SmoothingFilter.exponential(timeConstant: 0.05, zeroPhase: true),
        SmoothingFilter.criticallyDampedSpring(smoothTime: 0.1, zeroPhase: true),
    ])
    func zeroPhaseFiltersHaveNoLag(filter: SmoothingFilter) throws {
        var impulse = [Double](repeating: 0, count: 2001)
        impulse[1000] = 1
        let response = try run(filter, impulse, h: 0.01)
        let peak = response.indices.max { response[$0] < response[$1] }
        #expect(peak == 1000)
        for k in 1...20 { #expect(abs(response[1000 - k] - response[1000 + k]) < 1e-9 * response[1000]) }
    }

    @Test func smoothingIsBitIdenticalAcrossRuns() throws {
        var random = SeededRandom(seed: 7)
        let samples = (0..<5000).map { _ in random.unit() }
        let film = try Presets.smoothing("film")
        let game = try Presets.smoothing("game")
        #expect(film.smooth(samples, sampleInterval: 0.02) == film.smooth(samples, sampleInterval: 0.02))
        #expect(game.smooth(samples, sampleInterval: 0.02) == game.smooth(samples, sampleInterval: 0.02))
        // And it does smooth: the frame-to-frame jitter of white noise drops by far.
        func jitter(_ x: [Double]) -> Double { zip(x, x.dropFirst()).map { abs($1 - $0) }.reduce(0, +) / Double(x.count - 1) }
        #expect(jitter(film.smooth(samples, sampleInterval: 0.02)) < jitter(samples) / 10)
        #expect(jitter(game.smooth(samples, sampleInterval: 0.02)) < jitter(samples) / 3)
    }

    static let badFiles: [(String, String, String, String)] = [
        ("unknown filter", #"{"name": "x", "filters": [{"type": "kalman"}]}"#, "smoothing.unknownFilter", "filters[0].type: unknown filter \"kalman\""),
        ("negative sigma", #"{"name": "x", "filters": [{"type": "gaussian", "sigma": -1}]}"#, "smoothing.parameter", "filters[0]: sigma must be > 0"),
        ("missing sigma", #"{"name": "x", "filters": [{"type": "gaussian"}]}"#, "smoothing.field", "filters[0]: missing field \"sigma\""),
        ("misspelt field", #"{"name": "x", "filters": [{"type": "oneEuro", "minCutoff": 1, "beta": 0, "dCutoff": 1}]}"#,
         "smoothing.field", "filters[0].dCutoff: unknown field"),
        ("order too high", #"{"name": "x", "filters": [{"type": "savitzkyGolay", "window": 0.3, "order": 9}]}"#,
         "smoothing.parameter", "order must be a whole number from 0 to 6"),
        ("zero time constant", #"{"name": "x", "filters": [{"type": "exponential", "timeConstant": 0}]}"#,
         "smoothing.parameter", "timeConstant must be > 0"),
        ("NaN cutoff", #"{"name": "x", "filters": [{"type": "oneEuro", "minCutoff": NaN, "beta": 0}]}"#,
         "smoothing.field", "filters[0].minCutoff: number is not finite"),
        ("missing filters", #"{"name": "x"}"#, "smoothing.field", "missing field \"filters\""),
        ("bad JSON", "{\"name\": \"x\", \"filters\": [", "smoothing.json", "invalid JSON"),
    ]

    @Test(arguments: badFiles)
    func badFilesAreRefusedNamingFileAndField(what: String, text: String, code: String, fragment: String) throws {
        let url = Presets.temporaryFile("bad-smoothing.json", text)
        let error = try #require(throws: CurvesError.self, "\(what)") {
            try SmoothingPreset.load(url.path, presetsDirectory: TestPaths.presets)
        }
        #expect(error.code == code, "\(what): \(error.message)")
        #expect(error.message.hasPrefix(url.path), "\(what): \(error.message)")
        #expect(error.message.contains(fragment), "\(what): \(error.message)")
    }

    @Test func aUserFileLoadsLikeAShippedOne() throws {
        let text = try String(contentsOf: TestPaths.presets.appendingPathComponent("smoothing/game.json"), encoding: .utf8)
        let loaded = try SmoothingPreset.load(Presets.temporaryFile("mine.json", text).path, presetsDirectory: TestPaths.presets)
        #expect(loaded.filters == (try Presets.smoothing("game")).filters)
        #expect(loaded.name == "game")
    }
}
