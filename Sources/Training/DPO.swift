import EmotionCore
import Foundation
import Neural
import Recognition

/// The log-likelihood of a whole candidate sequence under a sequence model, the quantity DPO
/// compares (DESIGN.md, Stage 3):
///   log p(y) = sum_t log Dir(y_t | alpha_t)
///            = sum_t [lgamma(A_t) - sum_i lgamma(alpha_ti) + sum_i (alpha_ti - 1) log y_ti],
/// with A_t = sum_i alpha_ti, and its gradient
///   d log p / d alpha_ti = digamma(A_t) - digamma(alpha_ti) + log y_ti.
/// `alpha` and `y` are row-major (frames x K); every y_ti must be > 0.
public enum SequenceLikelihood {
    public static func logLikelihood(alpha: [Double], y: [Double], emotions k: Int) -> Double {
        precondition(alpha.count == y.count && alpha.count % k == 0, "SequenceLikelihood: alpha and y must be frames x K")
        var total = 0.0
        for frame in 0..<(alpha.count / k) {
            let range = (frame * k)..<((frame + 1) * k)
            total += Dirichlet.logDensity(y[range], alpha: alpha[range])
        }
        return total
    }

    public static func alphaGradient(alpha: [Double], y: [Double], emotions k: Int) -> [Double] {
        var gradient = [Double](repeating: 0, count: alpha.count)
        for frame in 0..<(alpha.count / k) {
            var total = 0.0
            for i in 0..<k { total += alpha[frame * k + i] }
            let psiTotal = Dirichlet.digamma(total)
            for i in 0..<k {
                let index = frame * k + i
                gradient[index] = psiTotal - Dirichlet.digamma(alpha[index]) + log(y[index])
            }
        }
        return gradient
    }
}

/// One preference pair ready for the loss: both candidates resampled to the model's frames
/// of one clip, with their log-likelihoods under the frozen reference model.
public struct DPOPair: Sendable {
    /// Frames x K mixtures of the preferred (y_w) and the other (y_l) candidate, on the open simplex.
    public var winner: [Double]
    public var loser: [Double]
    /// log p_ref(y_w), log p_ref(y_l).
    public var referenceWinner: Double
    public var referenceLoser: Double

    public init(winner: [Double], loser: [Double], referenceWinner: Double, referenceLoser: Double) {
        self.winner = winner
        self.loser = loser
        self.referenceWinner = referenceWinner
        self.referenceLoser = referenceLoser
    }
}

/// Figures of one DPO evaluation: the loss and how often the policy already ranks the pair
/// the annotator's way (the implicit reward margin z > 0).
public struct DPOStatistics: Sendable, Equatable {
    public var loss = 0.0
    public var pairs = 0
    public var correctlyRanked = 0
    public var marginSum = 0.0

    public init() {}

    public var meanLoss: Double { pairs == 0 ? 0 : loss / Double(pairs) }
    public var rankingAccuracy: Double { pairs == 0 ? 0 : Double(correctlyRanked) / Double(pairs) }
    public var meanMargin: Double { pairs == 0 ? 0 : marginSum / Double(pairs) }

    public mutating func add(_ other: DPOStatistics) {
        loss += other.loss
        pairs += other.pairs
        correctlyRanked += other.correctlyRanked
        marginSum += other.marginSum
    }
}

extension Tape {
    /// The DPO loss (Rafailov et al. 2023) of the pairs of one clip, from the policy's raw
    /// outputs x (frames, K) on that clip:
    ///   z = beta * [(log p(y_w) - log p_ref(y_w)) - (log p(y_l) - log p_ref(y_l))],
    ///   L = -log sigmoid(z) = log(1 + exp(-z)), summed over the pairs and multiplied by `scale`
    /// (1 / pairs in the optimiser step gives the mean). dL/dz = sigmoid(z) - 1, so
    ///   dL/dalpha_t = scale * beta * (sigmoid(z) - 1) * (g_w,t - g_l,t),
    /// with g the gradient of `SequenceLikelihood`, then through the head to x.
    // outputs: (frames, K) -> scalar
    public func directPreferenceLoss(
        _ outputs: Variable, head: SequenceHead, pairs: [DPOPair], beta: Double, scale: Double = 1
    ) -> (loss: Variable, statistics: DPOStatistics) {
        let (frames, k) = (outputs.shape[0], outputs.shape[1])
        let alpha = (0..<frames).flatMap { head.alpha(outputs.value[($0 * k)..<(($0 + 1) * k)]) }
        var alphaGradient = [Double](repeating: 0, count: alpha.count)
        var statistics = DPOStatistics()
        for pair in pairs {
            precondition(pair.winner.count == alpha.count && pair.loser.count == alpha.count, "directPreferenceLoss: candidates must have frames x K values")
            let winner = SequenceLikelihood.logLikelihood(alpha: alpha, y: pair.winner, emotions: k)
            let loser = SequenceLikelihood.logLikelihood(alpha: alpha, y: pair.loser, emotions: k)
            let z = beta * ((winner - pair.referenceWinner) - (loser - pair.referenceLoser))
            // log(1 + exp(-z)) without overflow for large |z|.
            let loss = z > 0 ? log1p(exp(-z)) : -z + log1p(exp(z))
            statistics.loss += loss
            statistics.pairs += 1
            statistics.marginSum += z
            if z > 0 { statistics.correctlyRanked += 1 }
            let sigmoid = z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z))
            let factor = scale * beta * (sigmoid - 1)
            guard recording && outputs.requiresGradient else { continue }
            let gw = SequenceLikelihood.alphaGradient(alpha: alpha, y: pair.winner, emotions: k)
            let gl = SequenceLikelihood.alphaGradient(alpha: alpha, y: pair.loser, emotions: k)
            for index in alphaGradient.indices { alphaGradient[index] += factor * (gw[index] - gl[index]) }
        }
        let output = Variable(shape: [1], value: [Float(statistics.loss * scale)], requiresGradient: outputs.requiresGradient)
        guard needsGradient(outputs) else { return (output, statistics) }
        var gradient = [Float](repeating: 0, count: outputs.count)
        for frame in 0..<frames {
            let range = (frame * k)..<((frame + 1) * k)
            let dx = head.backward(outputs.value[range], alpha: Array(alpha[range]), alphaGradient: Array(alphaGradient[range]))
            for i in 0..<k { gradient[frame * k + i] = Float(dx[i]) }
        }
        record {
            guard output.gradient.count == 1 else { return }
            let upstream = output.gradient[0]
            outputs.addGradient(gradient.map { $0 * upstream })
        }
        return (output, statistics)
    }
}
