import Foundation
import JSONIO
import Neural
import TestSupport
import Testing
import Training

/// Every autograd operation against PyTorch: outputs and gradients on the committed fixture
/// made by scripts/make_training_reference.py (float64 in PyTorch, float32 here).
@Suite struct AutogradReferenceTests {
    struct Case: Sendable, CustomStringConvertible {
        let index: Int
        let name: String
        var description: String { "\(index):\(name)" }
    }

    static let fixture: JSONValue = {
        let url = TestPaths.fixtures.appendingPathComponent("training/autograd-reference.json")
        return try! JSONCodec.parse(contentsOf: url)
    }()

    static let cases: [Case] = fixture["cases"]!.arrayValue!.enumerated().map { Case(index: $0, name: $1["name"]!.stringValue!) }

    static func tensor(_ value: JSONValue) -> (shape: [Int], values: [Float]) {
        (value["shape"]!.arrayValue!.map { $0.intValue! }, value["values"]!.arrayValue!.map { Float($0.doubleValue!) })
    }

    static func ints(_ value: JSONValue?) -> [Int] { value!.arrayValue!.map { $0.intValue! } }
    static func rows(_ value: JSONValue?) -> [[Double]] { value!.arrayValue!.map { $0.arrayValue!.map { $0.doubleValue! } } }

    @Test(arguments: cases)
    func matchesPyTorch(_ testCase: Case) throws {
        let entry = Self.fixture["cases"]!.arrayValue![testCase.index]
        var inputs: [String: Variable] = [:]
        for (name, value) in entry["inputs"]!.objectValue!.entries {
            let (shape, values) = Self.tensor(value)
            inputs[name] = Variable(shape: shape, value: values, requiresGradient: true)
        }
        let attributes = entry["attributes"]!
        let tape = Tape()
        let workspace = AutogradWorkspace()
        var statistics: BatchNormStatistics?
        let output = try #require(
            Self.run(testCase.name, inputs: inputs, attributes: attributes, tape: tape, workspace: workspace, statistics: &statistics))
        let expected = Self.tensor(entry["output"]!)
        #expect(output.shape == expected.shape || (output.count == 1 && expected.values.count == 1))
        expectClose(output.value, expected.values, tolerance: 2e-4, "\(testCase) output")
        if let seed = entry["seed"] {
            tape.backward(from: output, seed: Self.tensor(seed).values)
        } else {
            tape.backward(from: output)
        }
        for (name, value) in entry["gradients"]!.objectValue!.entries {
            let expectedGradient = Self.tensor(value).values
            expectClose(inputs[name]!.gradient, expectedGradient, tolerance: 5e-4, "\(testCase) d/d\(name)")
        }
        if testCase.name == "batchNormTraining" {
            // The running statistics after one step, as PyTorch left them.
            let statistics = try #require(statistics)
            expectClose(statistics.mean, attributes["runningMean"]!.arrayValue!.map { Float($0.doubleValue!) }, tolerance: 1e-5, "running mean")
            expectClose(statistics.variance, attributes["runningVariance"]!.arrayValue!.map { Float($0.doubleValue!) }, tolerance: 1e-4, "running variance")
        }
    }

    static func run(
        _ name: String, inputs: [String: Variable], attributes: JSONValue, tape: Tape, workspace: AutogradWorkspace,
        statistics kept: inout BatchNormStatistics?
    ) -> Variable? {
        switch name {
        case "linear":
            return tape.linear(inputs["x"]!, weight: inputs["weight"]!, bias: inputs["bias"])
        case "convolution2D":
            let stride = ints(attributes["stride"]), padding = ints(attributes["padding"])
            return tape.convolution2D(
                inputs["x"]!, weight: inputs["weight"]!, bias: inputs["bias"], stride: (stride[0], stride[1]),
                padding: (padding[0], padding[1]), workspace: workspace)
        case "convolution1D":
            return tape.convolution1D(
                inputs["x"]!, weight: inputs["weight"]!, bias: inputs["bias"], stride: ints(attributes["stride"])[0],
                padding: ints(attributes["padding"])[0], workspace: workspace)
        case "batchNormTraining":
            let statistics = BatchNormStatistics(channels: inputs["gamma"]!.count)
            kept = statistics
            return tape.batchNorm(inputs["x"]!, gamma: inputs["gamma"]!, beta: inputs["beta"]!, statistics: statistics)
        case "batchNormInference":
            let statistics = BatchNormStatistics(channels: inputs["gamma"]!.count)
            statistics.mean = attributes["runningMean"]!.arrayValue!.map { Float($0.doubleValue!) }
            statistics.variance = attributes["runningVariance"]!.arrayValue!.map { Float($0.doubleValue!) }
            let inference = Tape(recording: true, training: false)
            let output = inference.batchNorm(inputs["x"]!, gamma: inputs["gamma"]!, beta: inputs["beta"]!, statistics: statistics)
            // Move the recorded step onto the caller's tape.
            tape.record { inference.backward(from: output, seed: output.gradient) }
            return output
        case "layerNorm":
            return tape.layerNorm(inputs["x"]!, gamma: inputs["gamma"]!, beta: inputs["beta"]!)
        case "relu":
            return tape.relu(inputs["x"]!)
        case "gelu":
            return tape.gelu(inputs["x"]!)
        case "maxPool2D":
            return tape.maxPool2D(inputs["x"]!)
        case "maskedMeanPool":
            return tape.maskedMeanPool(inputs["x"]!, validWidths: ints(attributes["validWidths"]))
        case "maskedMeanOverTime":
            return tape.maskedMeanOverTime(inputs["x"]!, lengths: ints(attributes["lengths"]))
        case "permute":
            return tape.permute(inputs["x"]!, ints(attributes["order"]))
        case "attention":
            return tape.attention(
                query: inputs["query"]!, key: inputs["key"]!, value: inputs["value"]!, heads: attributes["heads"]!.intValue!,
                lengths: ints(attributes["lengths"]))
        case "crossEntropy":
            return tape.crossEntropy(inputs["x"]!, targets: rows(attributes["targets"]))
        case "dirichletNLL":
            return tape.dirichletNegativeLogLikelihood(inputs["x"]!, targets: rows(attributes["targets"]))
        case "dirichletMeanCrossEntropy":
            return tape.dirichletMeanCrossEntropy(inputs["x"]!, targets: rows(attributes["targets"]))
        case "compactNetwork":
            let v = inputs
            var h = tape.convolution2D(v["x"]!, weight: v["w1"]!, bias: v["b1"], padding: (1, 1), workspace: workspace)
            h = tape.relu(tape.batchNorm(h, gamma: v["g1"]!, beta: v["be1"]!, statistics: BatchNormStatistics(channels: 4)))
            h = tape.maxPool2D(h)
            h = tape.convolution2D(h, weight: v["w2"]!, bias: v["b2"], padding: (1, 1), workspace: workspace)
            h = tape.relu(tape.batchNorm(h, gamma: v["g2"]!, beta: v["be2"]!, statistics: BatchNormStatistics(channels: 5)))
            let pooled = tape.maskedMeanPool(h, validWidths: ints(attributes["validWidths"]))
            let outputs = tape.linear(pooled, weight: v["wl"]!, bias: v["bl"])
            return tape.dirichletNegativeLogLikelihood(outputs, targets: rows(attributes["targets"]))
        default:
            Issue.record("unknown case \(name)")
            return nil
        }
    }
}

/// |a - b| <= tolerance * max(1, |b|) element-wise, reporting the worst element.
func expectClose(_ actual: [Float], _ expected: [Float], tolerance: Float, _ label: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(actual.count == expected.count, "\(label): \(actual.count) values, expected \(expected.count)", sourceLocation: sourceLocation)
    guard actual.count == expected.count else { return }
    var worst: Float = 0
    var worstIndex = 0
    for index in actual.indices {
        let error = abs(actual[index] - expected[index]) / max(1, abs(expected[index]))
        if !(error <= worst) { worst = error; worstIndex = index }
    }
    #expect(worst <= tolerance, "\(label): element \(worstIndex) is \(actual[worstIndex]), expected \(expected[worstIndex])", sourceLocation: sourceLocation)
}
