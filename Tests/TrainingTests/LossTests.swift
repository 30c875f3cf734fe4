import EmotionCore
import Foundation
import Neural
import Testing
import Training

@Suite struct LossTests {
    @Test func theFlatDirichletHasTheSameDensityEverywhere() {
        // alpha = 1: the density is Gamma(K) = (K-1)! anywhere on the simplex; with x = 1,
        // alpha = 1 + 1e-6, so the NLL is -log 6! up to ~1e-5.
        let x = Variable(shape: [2, 7], value: [Float](repeating: 1, count: 14))
        let targets = [
            Targets.smoothedOneHot(label: 2, classes: 7, smoothing: 0.1),
            [0.1, 0.2, 0.05, 0.15, 0.2, 0.1, 0.2],
        ]
        let loss = Tape.inference().dirichletNegativeLogLikelihood(x, targets: targets)
        #expect(abs(Double(loss.value[0]) + log(720)) < 1e-4)
    }

    @Test func theNLLFallsWhenTheMeanMovesTowardTheLabel() {
        let target = [Targets.smoothedOneHot(label: 0, classes: 3, smoothing: 0.1)]
        let tape = Tape.inference()
        let flat = tape.dirichletNegativeLogLikelihood(Variable(shape: [1, 3], value: [2, 2, 2]), targets: target)
        let right = tape.dirichletNegativeLogLikelihood(Variable(shape: [1, 3], value: [4, 1, 1]), targets: target)
        let wrong = tape.dirichletNegativeLogLikelihood(Variable(shape: [1, 3], value: [1, 4, 1]), targets: target)
        #expect(right.value[0] < flat.value[0])
        #expect(wrong.value[0] > flat.value[0])
    }

    @Test func crossEntropyOfAUniformPredictionIsLogK() {
        let loss = Tape.inference().crossEntropy(Variable(shape: [1, 7], value: [Float](repeating: 0.3, count: 7)), targets: [Targets.smoothedOneHot(label: 4, classes: 7, smoothing: 0)])
        #expect(abs(Double(loss.value[0]) - log(7)) < 1e-6)
    }

    @Test func weightsAverageThePerSampleLosses() {
        // Weighted: sum w_n L_n / sum w_n, so equal weights change nothing and a zero weight
        // removes a sample.
        let x = Variable(shape: [2, 3], value: [2, 0.5, -1, 0.3, 0.1, 1.2])
        let targets = [Targets.smoothedOneHot(label: 0, classes: 3, smoothing: 0), Targets.smoothedOneHot(label: 2, classes: 3, smoothing: 0)]
        let tape = Tape.inference()
        let plain = tape.crossEntropy(x, targets: targets).value[0]
        #expect(abs(tape.crossEntropy(x, targets: targets, weights: [3, 3]).value[0] - plain) < 1e-6)
        let first = tape.crossEntropy(Variable(shape: [1, 3], value: [2, 0.5, -1]), targets: [targets[0]]).value[0]
        #expect(abs(tape.crossEntropy(x, targets: targets, weights: [1, 0]).value[0] - first) < 1e-6)
    }

    @Test func smoothedTargetsLieOnTheOpenSimplex() {
        let row = Targets.smoothedOneHot(label: 3, classes: 7, smoothing: 0.1)
        #expect(abs(row.reduce(0, +) - 1) < 1e-12)
        #expect(row.allSatisfy { $0 > 0 })
        #expect(abs(row[3] - (0.9 + 0.1 / 7)) < 1e-12)
    }
}
