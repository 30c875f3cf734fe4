import Foundation

/// How a sequence model's raw per-frame outputs x (K values) become Dirichlet parameters.
public enum SequenceHead: Sendable, Equatable {
    /// The paper's head: alpha_i = x_i^2 + 1e-6. Trained with the per-frame Dirichlet NLL.
    case dirichlet
    /// The cross-entropy baseline: alpha = softmax(x) * concentration, so the mixture is the
    /// probability vector and the concentration is fixed.
    case softmax(concentration: Double)

    public static let alphaFloor = 1e-6

    public var name: String {
        switch self {
        case .dirichlet: return "dirichlet"
        case .softmax: return "softmax"
        }
    }

    /// Alpha (K values, all > 0) of one frame's raw outputs.
    public func alpha(_ x: ArraySlice<Float>) -> [Double] {
        switch self {
        case .dirichlet:
            return x.map { Double($0) * Double($0) + Self.alphaFloor }
        case .softmax(let concentration):
            let largest = Double(x.max() ?? 0)
            let exps = x.map { exp(Double($0) - largest) }
            let total = exps.reduce(0, +)
            return exps.map { max($0 / total, 1e-12) * concentration }
        }
    }

    /// The vector-Jacobian product: dL/dx from dL/dalpha for one frame.
    /// Dirichlet: dalpha_i/dx_i = 2 x_i. Softmax: with s = alpha / c,
    /// dL/dx_j = c s_j (g_j - sum_i g_i s_i), g = dL/dalpha.
    public func backward(_ x: ArraySlice<Float>, alpha: [Double], alphaGradient g: [Double]) -> [Double] {
        switch self {
        case .dirichlet:
            return zip(x, g).map { 2 * Double($0) * $1 }
        case .softmax(let concentration):
            let s = alpha.map { $0 / concentration }
            var dot = 0.0
            for i in s.indices { dot += g[i] * s[i] }
            return s.indices.map { concentration * s[$0] * (g[$0] - dot) }
        }
    }
}
