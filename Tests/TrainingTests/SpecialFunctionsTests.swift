import Foundation
#if canImport(Glibc)
import Glibc
private func cLogGamma(_ x: Double) -> Double { Glibc.lgamma(x) }
#elseif canImport(Darwin)
import Darwin
private func cLogGamma(_ x: Double) -> Double { Darwin.lgamma(x) }
#endif
import Neural
import Testing
import Training

@Suite struct SpecialFunctionsTests {
    @Test(arguments: [1e-8, 1e-6, 1e-3, 0.1, 0.5, 1, 1.5, 2, 3.7, 9.99, 10, 25.5, 170, 1e4, 1e6])
    func logGammaMatchesTheCLibrary(x: Double) {
        let expected = cLogGamma(x)
        #expect(abs(SpecialFunctions.logGamma(x) - expected) <= 1e-12 * max(1, abs(expected)))
    }

    @Test(arguments: [
        (1.0, -0.577_215_664_901_532_86),  // -Euler's gamma
        (0.5, -1.963_510_026_021_423_5),  // -gamma - 2 log 2
        (2.0, 0.422_784_335_098_467_14),  // 1 - gamma
        (10.0, 2.251_752_589_066_721_1),
        (0.25, -4.227_453_533_376_265_4),  // -gamma - pi/2 - 3 log 2
    ])
    func digammaMatchesKnownValues(x: Double, expected: Double) {
        #expect(abs(SpecialFunctions.digamma(x) - expected) < 1e-13)
    }

    @Test(arguments: [1e-6, 0.03, 0.7, 4.2, 11, 300])
    func digammaIsTheDerivativeOfLogGamma(x: Double) {
        let h = x * 1e-5
        let numeric = (SpecialFunctions.logGamma(x + h) - SpecialFunctions.logGamma(x - h)) / (2 * h)
        #expect(abs(SpecialFunctions.digamma(x) - numeric) <= 1e-6 * max(1, abs(numeric)))
    }

    @Test func digammaNearZeroFollowsMinusOneOverX() {
        // digamma(x) = -1/x - gamma + (pi^2/6) x + O(x^2)
        let x = 1e-6
        #expect(abs(SpecialFunctions.digamma(x) - (-1 / x - 0.577_215_664_901_532_86 + 1.644_934 * x)) < 1e-9)
    }

    @Test func invalidArgumentsGiveNaN() {
        #expect(SpecialFunctions.logGamma(0).isNaN)
        #expect(SpecialFunctions.digamma(-1).isNaN)
    }

    @Test func theFlatDirichletHasTheSameDensityEverywhere() {
        // alpha = 1: Dir density is Gamma(K) = (K-1)! anywhere on the simplex; with x = 1,
        // alpha = 1 + 1e-6 so the NLL is -log 6! up to ~1e-5.
        let x = Variable(shape: [2, 7], value: [Float](repeating: 1, count: 14))
        let targets = [
            Targets.smoothedOneHot(label: 2, classes: 7, smoothing: 0.1),
            [0.1, 0.2, 0.05, 0.15, 0.2, 0.1, 0.2],
        ]
        let loss = Tape.inference().dirichletNegativeLogLikelihood(x, targets: targets)
        #expect(abs(Double(loss.value[0]) + Foundation.log(720)) < 1e-4)
    }

    @Test func smoothedTargetsLieOnTheOpenSimplex() {
        let row = Targets.smoothedOneHot(label: 3, classes: 7, smoothing: 0.1)
        #expect(abs(row.reduce(0, +) - 1) < 1e-12)
        #expect(row.allSatisfy { $0 > 0 })
        #expect(abs(row[3] - (0.9 + 0.1 / 7)) < 1e-12)
    }
}
