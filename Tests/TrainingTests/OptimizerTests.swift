import Foundation
import JSONIO
import Neural
import Testing
import Training

@Suite struct OptimizerTests {
    @Test func adamWMatchesPyTorch() throws {
        let reference = try #require(AutogradReferenceTests.fixture["adamw"])
        let initial = reference["initial"]!
        let (ws, wv) = AutogradReferenceTests.tensor(initial["w"]!)
        let (bs, bv) = AutogradReferenceTests.tensor(initial["b"]!)
        let w = Variable(shape: ws, value: wv, requiresGradient: true)
        let b = Variable(shape: bs, value: bv, requiresGradient: true)
        let optimizer = AdamW(parameters: [("w", w, true), ("b", b, false)])
        for (index, step) in reference["steps"]!.arrayValue!.enumerated() {
            optimizer.zeroGradients()
            w.gradient = AutogradReferenceTests.tensor(step["gradients"]!["w"]!).values
            b.gradient = AutogradReferenceTests.tensor(step["gradients"]!["b"]!).values
            optimizer.update(rate: Float(step["rate"]!.doubleValue!))
            expectClose(w.value, AutogradReferenceTests.tensor(step["after"]!["w"]!).values, tolerance: 1e-6, "w after step \(index + 1)")
            expectClose(b.value, AutogradReferenceTests.tensor(step["after"]!["b"]!).values, tolerance: 1e-6, "b after step \(index + 1)")
        }
    }

    @Test func clippingScalesToTheMaximumNorm() {
        let a = Variable(shape: [2], value: [0, 0], requiresGradient: true)
        let b = Variable(shape: [1], value: [0], requiresGradient: true)
        let optimizer = AdamW(parameters: [("a", a, true), ("b", b, true)])
        a.gradient = [3, 0]
        b.gradient = [4]
        #expect(optimizer.clipGradients(maximum: 1) == 5)
        #expect(abs(optimizer.gradientNorm() - 1) < 1e-5)
        #expect(abs(a.gradient[0] - 0.6) < 1e-6 && abs(b.gradient[0] - 0.8) < 1e-6)
        // Under the limit nothing changes.
        #expect(optimizer.clipGradients(maximum: 10) < 1.0001)
        #expect(abs(a.gradient[0] - 0.6) < 1e-6)
    }

    @Test func warmupThenCosine() {
        let schedule = WarmupCosineSchedule(peak: 2e-3, warmupSteps: 4, totalSteps: 14)
        #expect(abs(schedule.rate(step: 0) - 5e-4) < 1e-12)
        #expect(abs(schedule.rate(step: 3) - 2e-3) < 1e-12)
        #expect(abs(schedule.rate(step: 4) - 2e-3) < 1e-12)
        #expect(abs(schedule.rate(step: 9) - 1e-3) < 1e-12)  // half way down the cosine
        #expect(schedule.rate(step: 14) < 1e-12)
        let rates = (4...14).map(schedule.rate(step:))
        #expect(zip(rates, rates.dropFirst()).allSatisfy { $0 > $1 })
    }
}
