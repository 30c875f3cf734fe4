import EmotionCore
import Foundation
import Neural
import Recognition
import Testing
import Training

/// The DPO loss, its gradient, and the Dirichlet sequence likelihood it is built on.
@Suite struct DPOTests {
    static let k = 4
    static let frames = 6

    /// A point on the open simplex per frame.
    static func candidate(_ random: inout SeededRandom) -> [Double] {
        (0..<frames).flatMap { _ in
            Dirichlet.smoothedTarget(CandidateGenerator.sampleDirichlet([Double](repeating: 1.5, count: k), random: &random), epsilon: 0)
        }
    }

    static func outputs(_ random: inout SeededRandom) -> Variable {
        // |x| >= 0.5 keeps alpha = x^2 away from its curvature at 0 for finite differences.
        Variable(
            shape: [frames, k],
            value: (0..<(frames * k)).map { _ in
                let magnitude = Float(0.5 + abs(random.normal()))
                return random.uniform() < 0.5 ? -magnitude : magnitude
            }, requiresGradient: true)
    }

    static func alphas(_ x: [Float], head: SequenceHead) -> [Double] {
        (0..<frames).flatMap { head.alpha(x[($0 * k)..<(($0 + 1) * k)]) }
    }

    @Test func sequenceLikelihoodIsTheSumOfFrameDensities() {
        var random = SeededRandom(seed: 3)
        let y = Self.candidate(&random)
        let alpha = (0..<(Self.frames * Self.k)).map { _ in 0.3 + 4 * random.uniform() }
        var expected = 0.0
        for t in 0..<Self.frames {
            // Written out from the formula, not through Dirichlet.logDensity.
            let a = Array(alpha[(t * Self.k)..<((t + 1) * Self.k)]), v = Array(y[(t * Self.k)..<((t + 1) * Self.k)])
            expected += lgamma(a.reduce(0, +)) - a.map { lgamma($0) }.reduce(0, +) + zip(a, v).map { ($0 - 1) * log($1) }.reduce(0, +)
        }
        #expect(abs(SequenceLikelihood.logLikelihood(alpha: alpha, y: y, emotions: Self.k) - expected) < 1e-9)
        // The alpha gradient against central differences of the likelihood.
        let gradient = SequenceLikelihood.alphaGradient(alpha: alpha, y: y, emotions: Self.k)
        for index in [0, 5, 11, 23] {
            var plus = alpha, minus = alpha
            plus[index] += 1e-6
            minus[index] -= 1e-6
            let numeric =
                (SequenceLikelihood.logLikelihood(alpha: plus, y: y, emotions: Self.k)
                    - SequenceLikelihood.logLikelihood(alpha: minus, y: y, emotions: Self.k)) / 2e-6
            #expect(abs(numeric - gradient[index]) < 1e-5 * max(1, abs(numeric)), "alpha[\(index)]")
        }
    }

    @Test func lossIsLogTwoWhenThePolicyIsTheReference() {
        var random = SeededRandom(seed: 5)
        let x = Self.outputs(&random)
        let alpha = Self.alphas(x.value, head: .dirichlet)
        let pairs = (0..<3).map { _ -> DPOPair in
            let w = Self.candidate(&random), l = Self.candidate(&random)
            return DPOPair(
                winner: w, loser: l, referenceWinner: SequenceLikelihood.logLikelihood(alpha: alpha, y: w, emotions: Self.k),
                referenceLoser: SequenceLikelihood.logLikelihood(alpha: alpha, y: l, emotions: Self.k))
        }
        let (loss, statistics) = Tape().directPreferenceLoss(x, head: .dirichlet, pairs: pairs, beta: 0.5, scale: 1.0 / 3)
        #expect(abs(Double(loss.value[0]) - log(2)) < 1e-6)
        #expect(statistics.pairs == 3 && statistics.correctlyRanked == 0 && abs(statistics.meanMargin) < 1e-9)
    }

    @Test(arguments: [SequenceHead.dirichlet, .softmax(concentration: 8)], [0.1, 0.5, 1.0])
    func gradientMatchesFiniteDifferences(head: SequenceHead, beta: Double) {
        var random = SeededRandom(seed: 11)
        let x = Self.outputs(&random)
        // A reference that differs from the policy, so the margins are not zero.
        let reference = Self.alphas(x.value.map { $0 * 0.8 + 0.1 }, head: head)
        let pairs = (0..<4).map { _ -> DPOPair in
            let w = Self.candidate(&random), l = Self.candidate(&random)
            return DPOPair(
                winner: w, loser: l, referenceWinner: SequenceLikelihood.logLikelihood(alpha: reference, y: w, emotions: Self.k),
                referenceLoser: SequenceLikelihood.logLikelihood(alpha: reference, y: l, emotions: Self.k))
        }
        let tape = Tape()
        let (loss, _) = tape.directPreferenceLoss(x, head: head, pairs: pairs, beta: beta, scale: 0.25)
        tape.backward(from: loss)
        let analytic = x.gradient
        func lossValue(_ values: [Float]) -> Double {
            let probe = Variable(shape: x.shape, value: values)
            var total = 0.0
            // Recomputed in Double from the definition, not through the Float loss output.
            let alpha = Self.alphas(values, head: head)
            for pair in pairs {
                let z =
                    beta
                    * ((SequenceLikelihood.logLikelihood(alpha: alpha, y: pair.winner, emotions: Self.k) - pair.referenceWinner)
                        - (SequenceLikelihood.logLikelihood(alpha: alpha, y: pair.loser, emotions: Self.k) - pair.referenceLoser))
                total += log(1 + exp(-z))
            }
            _ = probe
            return total * 0.25
        }
        var worst = 0.0
        for index in 0..<x.count {
            var plus = x.value, minus = x.value
            let h: Float = 1e-3
            plus[index] += h
            minus[index] -= h
            let numeric = (lossValue(plus) - lossValue(minus)) / (2 * Double(h))
            worst = max(worst, abs(numeric - Double(analytic[index])) / max(1, abs(numeric)))
        }
        #expect(worst < 2e-3, "worst relative error \(worst)")
    }

    @Test func gradientStepsRaiseThePreferredCandidate() {
        // Plain gradient descent on the outputs alone: the loss must fall and the policy must
        // come to rank every pair the annotator's way.
        var random = SeededRandom(seed: 21)
        let x = Self.outputs(&random)
        let reference = Self.alphas(x.value, head: .dirichlet)
        let pairs = (0..<4).map { _ -> DPOPair in
            let w = Self.candidate(&random), l = Self.candidate(&random)
            return DPOPair(
                winner: w, loser: l, referenceWinner: SequenceLikelihood.logLikelihood(alpha: reference, y: w, emotions: Self.k),
                referenceLoser: SequenceLikelihood.logLikelihood(alpha: reference, y: l, emotions: Self.k))
        }
        var losses: [Double] = []
        var last = DPOStatistics()
        for _ in 0..<30 {
            let tape = Tape()
            x.zeroGradient()
            let (loss, statistics) = tape.directPreferenceLoss(x, head: .dirichlet, pairs: pairs, beta: 0.5, scale: 0.25)
            tape.backward(from: loss)
            losses.append(statistics.meanLoss)
            last = statistics
            for i in 0..<x.count { x.value[i] -= 0.05 * x.gradient[i] }
        }
        #expect(losses.first! > 0.69 && losses.first! < 0.70)
        #expect(losses.last! < 0.5 * losses.first!)
        #expect(last.rankingAccuracy == 1)
    }
}
