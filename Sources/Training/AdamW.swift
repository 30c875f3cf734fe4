import Foundation
import Neural

/// AdamW (Loshchilov and Hutter), as PyTorch's `torch.optim.AdamW`:
///   p <- p - lr * weightDecay * p           (decoupled decay; only parameters that decay)
///   m <- beta1 m + (1 - beta1) g,  v <- beta2 v + (1 - beta2) g^2
///   p <- p - lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + epsilon)
public final class AdamW {
    public struct Settings: Sendable, Equatable {
        public var beta1: Float = 0.9
        public var beta2: Float = 0.999
        public var epsilon: Float = 1e-8
        public var weightDecay: Float = 1e-2
        public init() {}
    }

    public let settings: Settings
    public let parameters: [(name: String, variable: Variable, decays: Bool)]
    /// First and second moments, one buffer per parameter.
    public var firstMoments: [[Float]]
    public var secondMoments: [[Float]]
    /// Steps taken (t in the bias corrections).
    public var step = 0

    public init(parameters: [(name: String, variable: Variable, decays: Bool)], settings: Settings = Settings()) {
        self.parameters = parameters
        self.settings = settings
        firstMoments = parameters.map { [Float](repeating: 0, count: $0.variable.count) }
        secondMoments = firstMoments
    }

    public func zeroGradients() {
        for parameter in parameters { parameter.variable.zeroGradient() }
    }

    /// The L2 norm of all gradients together.
    public func gradientNorm() -> Double {
        var sum = 0.0
        for parameter in parameters {
            for g in parameter.variable.gradient { sum += Double(g) * Double(g) }
        }
        return sum.squareRoot()
    }

    /// Scales all gradients so that their joint L2 norm is at most `maximum` (as
    /// `clip_grad_norm_`: factor maximum / (norm + 1e-6) when the norm exceeds it). Returns the
    /// norm before clipping.
    @discardableResult
    public func clipGradients(maximum: Double) -> Double {
        let norm = gradientNorm()
        guard norm > maximum else { return norm }
        let factor = Float(maximum / (norm + 1e-6))
        for parameter in parameters {
            parameter.variable.gradient.withUnsafeMutableBufferPointer { g in
                for index in g.indices { g[index] *= factor }
            }
        }
        return norm
    }

    /// One update at learning rate `rate`. A parameter without a gradient buffer is left as
    /// it is (PyTorch skips parameters whose grad is None); `zeroGradients` gives every
    /// parameter one.
    public func update(rate: Float) {
        step += 1
        let correction1 = 1 - pow(settings.beta1, Float(step))
        let correction2 = 1 - pow(settings.beta2, Float(step))
        let (beta1, beta2, epsilon) = (settings.beta1, settings.beta2, settings.epsilon)
        for (index, parameter) in parameters.enumerated() {
            let variable = parameter.variable
            guard variable.gradient.count == variable.count else { continue }
            let decay = parameter.decays ? 1 - rate * settings.weightDecay : 1
            variable.value.withUnsafeMutableBufferPointer { p in
                variable.gradient.withUnsafeBufferPointer { g in
                    firstMoments[index].withUnsafeMutableBufferPointer { m in
                        secondMoments[index].withUnsafeMutableBufferPointer { v in
                            for i in 0..<p.count {
                                p[i] *= decay
                                m[i] = beta1 * m[i] + (1 - beta1) * g[i]
                                v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i]
                                p[i] -= rate * (m[i] / correction1) / ((v[i] / correction2).squareRoot() + epsilon)
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Linear warm-up from 0 to `peak` over `warmupSteps`, then a cosine from `peak` to 0 at
/// `totalSteps`: rate(t) = peak * (t + 1) / warmup for t < warmup, else
/// peak * (1 + cos(pi * (t - warmup) / (total - warmup))) / 2.
public struct WarmupCosineSchedule: Sendable, Equatable {
    public var peak: Double
    public var warmupSteps: Int
    public var totalSteps: Int

    public init(peak: Double, warmupSteps: Int, totalSteps: Int) {
        self.peak = peak
        self.warmupSteps = max(0, warmupSteps)
        self.totalSteps = max(totalSteps, self.warmupSteps + 1)
    }

    public func rate(step: Int) -> Double {
        if step < warmupSteps { return peak * Double(step + 1) / Double(warmupSteps) }
        let progress = min(1, Double(step - warmupSteps) / Double(totalSteps - warmupSteps))
        return peak * 0.5 * (1 + cos(Double.pi * progress))
    }
}
