import Foundation
import Neural
import Testing
import Training

/// Every operation's backward step against central finite differences of its forward pass:
/// L = sum(seed * output), dL/dx_i ~ (L(x + h e_i) - L(x - h e_i)) / 2h, for every input element.
@Suite struct GradientCheckTests {
    /// One op under test: its inputs and how to compute its output on a tape.
    struct Check: Sendable, CustomStringConvertible {
        let name: String
        var description: String { name }
    }

    static let names = [
        "linear", "convolution2D", "convolution2DStrided", "convolution1D", "batchNormTraining", "batchNormInference",
        "layerNorm", "relu", "gelu", "maxPool2D", "maskedMeanPool", "maskedMeanOverTime", "permute", "reshape", "attention",
        "dropout", "add", "scale", "crossEntropy", "dirichletNLL", "dirichletMeanCrossEntropy", "weightedSum", "crossEntropyWeighted",
        "dirichletNLLWeighted", "dirichletMeanCrossEntropyWeighted",
    ]

    static func random(_ shape: [Int], _ generator: inout SeededRandom, scale: Double = 1) -> Variable {
        let count = shape.reduce(1, *)
        return Variable(shape: shape, value: (0..<count).map { _ in Float(generator.normal() * scale) }, requiresGradient: true)
    }

    /// Dirichlet outputs away from 0 (alpha = x^2 is strongly curved there): |x| in 0.5...
    static func awayFromZero(_ shape: [Int], _ generator: inout SeededRandom) -> Variable {
        let count = shape.reduce(1, *)
        return Variable(
            shape: shape, value: (0..<count).map { _ in
                let magnitude = Float(0.5 + abs(generator.normal()))
                return generator.uniform() < 0.5 ? -magnitude : magnitude
            }, requiresGradient: true)
    }

    /// Values spaced 0.05 apart in random order: no ties within 2h, no value within h of 0.
    static func distinct(_ shape: [Int], _ generator: inout SeededRandom) -> Variable {
        let count = shape.reduce(1, *)
        var order = Array(0..<count)
        generator.shuffle(&order)
        return Variable(shape: shape, value: order.map { (Float($0) - Float(count / 2) + 0.25) * 0.05 }, requiresGradient: true)
    }

    static func targets(_ rows: Int, _ classes: Int, smoothing: Double) -> [[Double]] {
        (0..<rows).map { Targets.smoothedOneHot(label: ($0 * 3) % classes, classes: classes, smoothing: smoothing) }
    }

    static func setUp(_ name: String) -> (inputs: [Variable], build: (Tape, [Variable]) -> Variable) {
        var g = SeededRandom(seed: 42 &+ UInt64(name.utf8.reduce(0) { $0 &* 31 &+ Int($1) } & 0xFFFF))

        let workspace = AutogradWorkspace()
        switch name {
        case "linear":
            return ([random([3, 2, 5], &g), random([4, 5], &g), random([4], &g)], { $0.linear($1[0], weight: $1[1], bias: $1[2]) })
        case "convolution2D":
            return ([random([2, 3, 5, 6], &g), random([3, 2, 3, 3], &g), random([3], &g)], {
                $0.convolution2D($1[0], weight: $1[1], bias: $1[2], padding: (1, 1), workspace: workspace)
            })
        case "convolution2DStrided":
            return ([random([2, 2, 7, 8], &g), random([3, 2, 3, 2], &g)], {
                $0.convolution2D($1[0], weight: $1[1], bias: nil, stride: (2, 3), padding: (1, 0), workspace: workspace)
            })
        case "convolution1D":
            return ([random([2, 3, 13], &g), random([4, 2, 4], &g), random([4], &g)], {
                $0.convolution1D($1[0], weight: $1[1], bias: $1[2], stride: 3, padding: 2, workspace: workspace)
            })
        case "batchNormTraining":
            let statistics = BatchNormStatistics(channels: 3)
            return ([random([3, 2, 3, 4], &g, scale: 2), random([3], &g), random([3], &g)], {
                $0.batchNorm($1[0], gamma: $1[1], beta: $1[2], statistics: statistics)
            })
        case "batchNormInference":
            let statistics = BatchNormStatistics(channels: 3)
            statistics.mean = [0.2, -0.1, 0.4]
            statistics.variance = [0.7, 1.3, 2.1]
            return ([random([3, 2, 3, 4], &g), random([3], &g), random([3], &g)], { tape, v in
                let inner = Tape(recording: tape.recording, training: false)
                let output = inner.batchNorm(v[0], gamma: v[1], beta: v[2], statistics: statistics)
                if tape.recording { tape.record { inner.backward(from: output, seed: output.gradient) } }
                return output
            })
        case "layerNorm":
            return ([random([2, 3, 6], &g), random([6], &g), random([6], &g)], { $0.layerNorm($1[0], gamma: $1[1], beta: $1[2]) })
        case "relu":
            return ([distinct([3, 7], &g)], { $0.relu($1[0]) })
        case "gelu":
            return ([random([3, 7], &g, scale: 2)], { $0.gelu($1[0]) })
        case "maxPool2D":
            return ([distinct([2, 3, 5, 6], &g)], { $0.maxPool2D($1[0]) })
        case "maskedMeanPool":
            return ([random([3, 2, 2, 5], &g)], { $0.maskedMeanPool($1[0], validWidths: [2, 5]) })
        case "maskedMeanOverTime":
            return ([random([3, 4, 2], &g)], { $0.maskedMeanOverTime($1[0], lengths: [1, 4, 3]) })
        case "permute":
            return ([random([2, 3, 4, 2], &g)], { $0.permute($1[0], [3, 1, 0, 2]) })
        case "reshape":
            return ([random([2, 6], &g)], { $0.reshape($1[0], [3, 4]) })
        case "attention":
            return ([random([2, 4, 6], &g), random([2, 4, 6], &g), random([2, 4, 6], &g)], {
                $0.attention(query: $1[0], key: $1[1], value: $1[2], heads: 3, lengths: [4, 2])
            })
        case "dropout":
            return ([random([4, 6], &g)], { tape, v in
                var fixed = SeededRandom(seed: 5)
                return tape.dropout(v[0], rate: 0.4, random: &fixed)
            })
        case "add":
            return ([random([2, 5], &g), random([2, 5], &g)], { $0.add($1[0], $1[1]) })
        case "scale":
            return ([random([2, 5], &g)], { $0.scale($1[0], by: -1.7) })
        case "crossEntropy":
            let t = targets(3, 5, smoothing: 0.2)
            return ([random([3, 5], &g, scale: 2)], { $0.crossEntropy($1[0], targets: t) })
        case "dirichletNLL":
            let t = targets(3, 5, smoothing: 0.2)
            return ([awayFromZero([3, 5], &g)], { $0.dirichletNegativeLogLikelihood($1[0], targets: t) })
        case "dirichletMeanCrossEntropy":
            let t = targets(3, 5, smoothing: 0.2)
            return ([awayFromZero([3, 5], &g)], { $0.dirichletMeanCrossEntropy($1[0], targets: t) })
        case "crossEntropyWeighted":
            let t = targets(3, 5, smoothing: 0.2)
            return ([random([3, 5], &g, scale: 2)], { $0.crossEntropy($1[0], targets: t, weights: [0.5, 2, 1]) })
        case "dirichletNLLWeighted":
            let t = targets(3, 5, smoothing: 0.2)
            return ([awayFromZero([3, 5], &g)], { $0.dirichletNegativeLogLikelihood($1[0], targets: t, weights: [0.5, 2, 1]) })
        case "dirichletMeanCrossEntropyWeighted":
            let t = targets(3, 5, smoothing: 0.2)
            return ([awayFromZero([3, 5], &g)], { $0.dirichletMeanCrossEntropy($1[0], targets: t, weights: [0.5, 2, 1]) })
        case "weightedSum":
            let t = targets(2, 4, smoothing: 0.1)
            return ([awayFromZero([2, 4], &g)], { tape, v in
                tape.weightedSum(tape.crossEntropy(v[0], targets: t), 0.3, tape.dirichletNegativeLogLikelihood(v[0], targets: t), 0.7)
            })
        default:
            fatalError("unknown check \(name)")
        }
    }

    @Test(arguments: names)
    func backwardMatchesFiniteDifferences(_ name: String) {
        let (inputs, build) = Self.setUp(name)
        let tape = Tape()
        let output = build(tape, inputs)
        var g = SeededRandom(seed: 99)
        let seed = (0..<output.count).map { _ in Float(g.normal()) }
        tape.backward(from: output, seed: seed)
        let step: Float = 1e-2
        func objective() -> Double {
            let probe = Tape(recording: false, training: true)
            let y = build(probe, inputs)
            return zip(y.value, seed).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        }
        for (position, input) in inputs.enumerated() {
            #expect(input.gradient.count == input.count, "\(name): input \(position) received no gradient")
            guard input.gradient.count == input.count else { continue }
            var worst = 0.0
            var report = ""
            for index in 0..<input.count {
                let saved = input.value[index]
                input.value[index] = saved + step
                let plus = objective()
                input.value[index] = saved - step
                let minus = objective()
                input.value[index] = saved
                let numeric = (plus - minus) / Double(2 * step)
                let analytic = Double(input.gradient[index])
                let error = abs(numeric - analytic) / max(1, abs(numeric))
                if error > worst {
                    worst = error
                    report = "element \(index): analytic \(analytic), numeric \(numeric)"
                }
            }
            #expect(worst < 3e-3, "\(name): input \(position) \(report)")
        }
    }

    @Test func dropoutKeepsTheExpectationAndVanishesInInference() {
        let x = Variable(shape: [10_000], value: [Float](repeating: 1, count: 10_000))
        var random = SeededRandom(seed: 3)
        let dropped = Tape(recording: false, training: true).dropout(x, rate: 0.3, random: &random)
        let zeros = dropped.value.filter { $0 == 0 }.count
        #expect(abs(Double(zeros) / 10_000 - 0.3) < 0.02)
        #expect(dropped.value.allSatisfy { $0 == 0 || abs($0 - 1 / 0.7) < 1e-6 })
        let kept = Tape.inference().dropout(x, rate: 0.3, random: &random)
        #expect(kept.value == x.value)
    }

    @Test(arguments: [true, false])
    func batchNormWithFusedReLUEqualsTheTwoOps(training: Bool) {
        var g = SeededRandom(seed: 77)
        func run(fused: Bool) -> [[Float]] {
            var local = SeededRandom(seed: 5)
            let x = Self.random([3, 2, 4, 5], &local, scale: 2), gamma = Self.random([3], &local), beta = Self.random([3], &local)
            let statistics = BatchNormStatistics(channels: 3)
            statistics.mean = [0.1, -0.3, 0.2]
            statistics.variance = [0.8, 1.4, 2.5]
            let tape = Tape(recording: true, training: training)
            let y = fused
                ? tape.batchNorm(x, gamma: gamma, beta: beta, statistics: statistics, relu: true)
                : tape.relu(tape.batchNorm(x, gamma: gamma, beta: beta, statistics: statistics))
            let values = y.value
            tape.backward(from: y, seed: (0..<y.count).map { Float(($0 * 37) % 11) - 5 })
            return [values, x.gradient, gamma.gradient, beta.gradient, statistics.mean, statistics.variance]
        }
        _ = g.next()
        let fused = run(fused: true), separate = run(fused: false)
        for (index, (a, b)) in zip(fused, separate).enumerated() {
            expectClose(a, b, tolerance: 1e-5, "batch norm + ReLU, part \(index)")
        }
    }

    @Test func aVariableUsedTwiceReceivesTheSumOfBothGradients() {
        let x = Variable(shape: [3], value: [1, -2, 3], requiresGradient: true)
        let tape = Tape()
        let y = tape.add(tape.scale(x, by: 2), tape.scale(x, by: 5))
        tape.backward(from: y, seed: [1, 1, 1])
        #expect(x.gradient == [7, 7, 7])
        #expect(tape.recordedSteps == 0)
    }
}
