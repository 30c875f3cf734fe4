import EmotionCore
import Foundation
import Neural
import Recognition

/// Training targets for an emotion classifier with K outputs: rows of K probabilities.
///
/// A single label becomes a one-hot row smoothed onto the open simplex with EmotionCore's
/// `Dirichlet.smoothedTarget`, y = (1 - epsilon) * onehot + epsilon / K, because the Dirichlet
/// density is zero or infinite on the simplex's boundary: every component must be > 0.
public enum Targets {
    public static func smoothedOneHot(label: Int, classes: Int, smoothing: Double) -> [Double] {
        var row = [Double](repeating: 0, count: classes)
        row[label] = 1
        return Dirichlet.smoothedTarget(row, epsilon: smoothing)
    }
}

extension Tape {
    /// Mean over the batch (weighted by `weights` when given: sum w_n L_n / sum w_n) of the
    /// Dirichlet negative log-likelihood of the target mixtures,
    /// with a0 = sum(alpha):
    ///   -log Dir(y | alpha) = -lgamma(a0) + sum_i lgamma(alpha_i) - sum_i (alpha_i - 1) log y_i,
    /// alpha = x^2 + 1e-6 (EmotionCore's `Dirichlet.logDensity`). Gradient:
    /// dNLL/dalpha_i = digamma(alpha_i) - digamma(a0) - log y_i, dalpha_i/dx_i = 2 x_i.
    /// Computed in Double; every target entry must be > 0.
    // outputs: (N, K), targets: N rows of K -> scalar
    public func dirichletNegativeLogLikelihood(_ outputs: Variable, targets: [[Double]], weights: [Double]? = nil) -> Variable {
        let (batch, classes) = (outputs.shape[0], outputs.shape[1])
        precondition(targets.count == batch && targets.allSatisfy { $0.count == classes && $0.allSatisfy { $0 > 0 } }, "dirichletNegativeLogLikelihood: targets must be \(batch) rows of \(classes) values > 0")
        let share = Self.shares(weights, batch: batch)
        var total = 0.0
        var gradient = [Float](repeating: 0, count: outputs.count)
        for n in 0..<batch {
            var alphas = [Double](repeating: 0, count: classes)
            for i in 0..<classes { alphas[i] = CompactModelConfiguration.Head.dirichletAlpha(outputs.value[n * classes + i]) }
            let sum = alphas.reduce(0, +)
            let nll = -Dirichlet.logDensity(targets[n], alpha: alphas)
            let digammaSum = Dirichlet.digamma(sum)
            for i in 0..<classes {
                let dAlpha = Dirichlet.digamma(alphas[i]) - digammaSum - log(targets[n][i])
                gradient[n * classes + i] = Float(dAlpha * 2 * Double(outputs.value[n * classes + i]) * share[n])
            }
            total += nll * share[n]
        }
        return scalarLoss(total, input: outputs, gradient: gradient)
    }

    /// Mean over the batch of the cross-entropy of the Dirichlet mean m = alpha / sum(alpha)
    /// against the targets: -sum_i y_i log m_i. Trains the same head as the NLL (a
    /// warm start or a mixing term). dL/dalpha_i = -y_i / alpha_i + sum(y) / a0.
    // outputs: (N, K), targets: N rows of K -> scalar
    public func dirichletMeanCrossEntropy(_ outputs: Variable, targets: [[Double]], weights: [Double]? = nil) -> Variable {
        let (batch, classes) = (outputs.shape[0], outputs.shape[1])
        precondition(targets.count == batch && targets.allSatisfy { $0.count == classes }, "dirichletMeanCrossEntropy: targets must be \(batch) rows of \(classes)")
        let share = Self.shares(weights, batch: batch)
        var total = 0.0
        var gradient = [Float](repeating: 0, count: outputs.count)
        for n in 0..<batch {
            var alphas = [Double](repeating: 0, count: classes)
            for i in 0..<classes { alphas[i] = CompactModelConfiguration.Head.dirichletAlpha(outputs.value[n * classes + i]) }
            let sum = alphas.reduce(0, +)
            let targetSum = targets[n].reduce(0, +)
            for i in 0..<classes {
                total -= targets[n][i] * log(alphas[i] / sum) * share[n]
                let dAlpha = -targets[n][i] / alphas[i] + targetSum / sum
                gradient[n * classes + i] = Float(dAlpha * 2 * Double(outputs.value[n * classes + i]) * share[n])
            }
        }
        return scalarLoss(total, input: outputs, gradient: gradient)
    }

    /// Mean over the batch of the cross-entropy of softmax(logits) against the targets:
    /// -sum_i y_i log softmax(x)_i, computed with the log-sum-exp shift.
    /// dL/dx_i = softmax(x)_i * sum(y) - y_i.
    // logits: (N, K), targets: N rows of K -> scalar
    public func crossEntropy(_ logits: Variable, targets: [[Double]], weights: [Double]? = nil) -> Variable {
        let (batch, classes) = (logits.shape[0], logits.shape[1])
        precondition(targets.count == batch && targets.allSatisfy { $0.count == classes }, "crossEntropy: targets must be \(batch) rows of \(classes)")
        let share = Self.shares(weights, batch: batch)
        var total = 0.0
        var gradient = [Float](repeating: 0, count: logits.count)
        for n in 0..<batch {
            let row = (0..<classes).map { Double(logits.value[n * classes + $0]) }
            let largest = row.max()!
            let logSum = largest + log(row.reduce(0) { $0 + exp($1 - largest) })
            let targetSum = targets[n].reduce(0, +)
            for i in 0..<classes {
                let logProbability = row[i] - logSum
                total -= targets[n][i] * logProbability * share[n]
                gradient[n * classes + i] = Float((exp(logProbability) * targetSum - targets[n][i]) * share[n])
            }
        }
        return scalarLoss(total, input: logits, gradient: gradient)
    }

    /// Each sample's share of a batch loss: w_n / sum(w), or 1/N without weights.
    static func shares(_ weights: [Double]?, batch: Int) -> [Double] {
        guard let weights else { return [Double](repeating: 1 / Double(batch), count: batch) }
        precondition(weights.count == batch && weights.allSatisfy { $0 >= 0 }, "loss weights: one non-negative weight per sample")
        let total = weights.reduce(0, +)
        precondition(total > 0, "loss weights: at least one must be positive")
        return weights.map { $0 / total }
    }

    /// w1 * a + w2 * b for two scalar losses.
    public func weightedSum(_ a: Variable, _ wa: Float, _ b: Variable, _ wb: Float) -> Variable {
        let output = Variable(shape: [1], value: [wa * a.value[0] + wb * b.value[0]], requiresGradient: a.requiresGradient || b.requiresGradient)
        guard needsGradient(a, b) else { return output }
        record {
            guard output.gradient.count == 1 else { return }
            if a.requiresGradient { a.addGradient([wa * output.gradient[0]]) }
            if b.requiresGradient { b.addGradient([wb * output.gradient[0]]) }
        }
        return output
    }

    /// A scalar whose gradient with respect to `input` was computed with the value.
    private func scalarLoss(_ value: Double, input: Variable, gradient: [Float]) -> Variable {
        let output = Variable(shape: [1], value: [Float(value)], requiresGradient: input.requiresGradient)
        guard needsGradient(input) else { return output }
        record {
            guard output.gradient.count == 1 else { return }
            let upstream = output.gradient[0]
            input.addGradient(gradient.map { $0 * upstream })
        }
        return output
    }
}
