import EmotionCore
import Foundation
import Testing

@Suite struct DirichletTests {
    /// Values from the closed forms: psi(1) = -gamma, psi(1/2) = -gamma - 2 ln 2, psi(n+1) = psi(n) + 1/n.
    @Test(arguments: [
        (1.0, -0.5772156649015329), (0.5, -1.9635100260214235), (2.0, 0.42278433509846713),
        (10.0, 2.251752589066721), (1e-3, -1000.5755719318103),
    ])
    func digammaMatchesKnownValues(x: Double, expected: Double) {
        #expect(abs(Dirichlet.digamma(x) - expected) < 1e-9 * max(1, abs(expected)))
    }

    @Test func digammaIsTheDerivativeOfLgamma() {
        for x in [0.05, 0.7, 3.3, 25.0] {
            let h = 1e-6
            let numeric = (lgamma(x + h) - lgamma(x - h)) / (2 * h)
            #expect(abs(Dirichlet.digamma(x) - numeric) < 1e-5)
        }
    }

    @Test func uniformDirichletHasConstantDensity() {
        // alpha = 1: density (K-1)! everywhere on the simplex.
        let value = Dirichlet.logDensity([0.2, 0.3, 0.5], alpha: [1.0, 1.0, 1.0])
        #expect(abs(value - log(2.0)) < 1e-12)
    }

    @Test func betaCaseMatchesClosedForm() {
        // K = 2 is Beta(a, b): p(y) = y^(a-1) (1-y)^(b-1) / B(a, b).
        let a = 2.5, b = 4.0, y = 0.3
        let logBeta: Double = lgamma(a) + lgamma(b) - lgamma(a + b)
        let expected: Double = (a - 1) * log(y) + (b - 1) * log(1 - y) - logBeta
        #expect(abs(Dirichlet.logDensity([y, 1 - y], alpha: [a, b]) - expected) < 1e-12)
    }

    @Test func smoothingStaysOnTheOpenSimplex() {
        let target = Dirichlet.smoothedTarget([0, 1, 0, 0, 0, 0, 0])
        #expect(abs(target.reduce(0, +) - 1) < 1e-12)
        #expect(abs(target[1] - (0.9 + 0.1 / 7)) < 1e-12)
        #expect(target.allSatisfy { $0 >= Dirichlet.minimumTarget })
    }
}
