import Foundation

/// Dirichlet maths shared by training (the NLL loss, DPO log-likelihoods) and evaluation.
///
/// For alpha in (0, inf)^K and a point y on the open simplex (y_i > 0, sum y = 1):
///   log p(y | alpha) = lgamma(A) - sum_i lgamma(alpha_i) + sum_i (alpha_i - 1) log y_i,
/// with A = sum_i alpha_i. The mean is alpha / A, the concentration is A.
public enum Dirichlet {
    /// Smallest value a target coordinate may take; one-hot targets are smoothed above it.
    public static let minimumTarget = 1e-4

    /// log p(y | alpha). `y` must lie on the open simplex (use `smoothedTarget`).
    public static func logDensity<A: Collection, Y: Collection>(_ y: Y, alpha: A) -> Double
    where A.Element == Double, Y.Element == Double {
        var total = 0.0
        var result = 0.0
        for (a, value) in zip(alpha, y) {
            total += a
            result += -lgamma(a) + (a - 1) * log(value)
        }
        return result + lgamma(total)
    }

    /// Label smoothing onto the open simplex: (1 - epsilon) * target + epsilon / K, then
    /// every coordinate clamped to at least `minimumTarget` and renormalised. With
    /// epsilon = 0.1 and K = 7 a one-hot label becomes 0.914 / 0.014.
    public static func smoothedTarget(_ target: [Double], epsilon: Double = 0.1) -> [Double] {
        let k = Double(target.count)
        var smoothed = target.map { max((1 - epsilon) * $0 + epsilon / k, minimumTarget) }
        let total = smoothed.reduce(0, +)
        for index in smoothed.indices { smoothed[index] /= total }
        return smoothed
    }

    /// The digamma function psi(x) = d/dx lgamma(x), for x > 0: the recurrence
    /// psi(x) = psi(x + 1) - 1/x lifts x above 6, then the asymptotic series
    /// psi(x) ~ ln x - 1/(2x) - 1/(12x^2) + 1/(120x^4) - 1/(252x^6) + 1/(240x^8) - 1/(132x^10)
    /// is accurate to about 1e-13 there.
    public static func digamma(_ x: Double) -> Double {
        precondition(x > 0, "digamma is only needed for positive arguments")
        var value = x
        var result = 0.0
        while value < 6 {
            result -= 1 / value
            value += 1
        }
        let inverse = 1 / value
        let inverse2 = inverse * inverse
        let series =
            inverse2
            * (1.0 / 12 - inverse2 * (1.0 / 120 - inverse2 * (1.0 / 252 - inverse2 * (1.0 / 240 - inverse2 / 132))))
        return result + log(value) - 0.5 * inverse - series
    }
}
