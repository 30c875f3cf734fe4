/// Reverse-mode automatic differentiation for training, on flat `[Float]` buffers.
///
/// A `Variable` holds a value (row-major, `shape`) and, once backward has reached it, a
/// gradient of the same size. Operations are methods on a `Tape`: each computes its output
/// eagerly and, when the tape records and an input needs a gradient, appends a closure that
/// turns the output's gradient into its inputs' gradients. `backward(from:)` runs those
/// closures in reverse order, which visits every node after all its consumers (the tape is a
/// topological order by construction). Gradients accumulate (`+=`), so a variable used twice
/// receives the sum, as the chain rule requires.
///
/// Inference uses a tape with `recording == false`: the same kernels, nothing is kept.
public final class Variable {
    /// Row-major dimensions; their product is `value.count`.
    public private(set) var shape: [Int]
    public var value: [Float]
    /// Empty until a gradient flows here (or `zeroGradient()` allocates it).
    public var gradient: [Float] = []
    /// Parameters and anything computed from them need gradients; data does not.
    public let requiresGradient: Bool

    public init(shape: [Int], value: [Float], requiresGradient: Bool = false) {
        precondition(shape.reduce(1, *) == value.count, "Variable: shape \(shape) does not match \(value.count) values")
        self.shape = shape
        self.value = value
        self.requiresGradient = requiresGradient
    }

    public convenience init(zeros shape: [Int], requiresGradient: Bool = false) {
        self.init(shape: shape, value: [Float](repeating: 0, count: shape.reduce(1, *)), requiresGradient: requiresGradient)
    }

    /// A variable whose values the caller will write in full before reading any (skips
    /// zero-filling large activation buffers).
    init(uninitialized shape: [Int], requiresGradient: Bool = false) {
        let count = shape.reduce(1, *)
        self.shape = shape
        self.value = [Float](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
        self.requiresGradient = requiresGradient
    }

    public var count: Int { value.count }

    /// Sets the gradient to zeros of the right size (keeps the allocation when it has one).
    public func zeroGradient() {
        if gradient.count == value.count {
            gradient.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        } else {
            gradient = [Float](repeating: 0, count: value.count)
        }
    }

    /// Runs `body` on the gradient buffer, allocating zeros first when it has none.
    @inline(__always)
    func accumulate(_ body: (UnsafeMutablePointer<Float>) -> Void) {
        if gradient.count != value.count { gradient = [Float](repeating: 0, count: value.count) }
        gradient.withUnsafeMutableBufferPointer { body($0.baseAddress!) }
    }

    /// Runs `body(gradient, fresh)`: when the variable had no gradient yet, the buffer is
    /// uninitialised and `fresh` is true, so the caller stores instead of adding (saves
    /// zero-filling and re-reading large buffers); otherwise the caller adds.
    @inline(__always)
    func accumulateOrStore(_ body: (UnsafeMutablePointer<Float>, Bool) -> Void) {
        let fresh = gradient.count != value.count
        if fresh {
            let count = value.count
            gradient = [Float](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
        }
        gradient.withUnsafeMutableBufferPointer { body($0.baseAddress!, fresh) }
    }

    /// The same values under another shape with the same count (a copy; gradients flow back).
    func reshaped(_ newShape: [Int]) -> Variable {
        Variable(shape: newShape, value: value, requiresGradient: requiresGradient)
    }
}

/// Records operations for one forward pass; `backward(from:)` consumes the record.
public final class Tape {
    /// False for inference: operations compute values only.
    public let recording: Bool
    /// True while training: batch norm uses batch statistics, dropout drops.
    public let training: Bool
    private var steps: [() -> Void] = []

    public init(recording: Bool = true, training: Bool = true) {
        self.recording = recording
        self.training = training
    }

    /// A tape for inference: no gradients, batch norm on running statistics, no dropout.
    public static func inference() -> Tape { Tape(recording: false, training: false) }

    /// The number of recorded backward steps (for tests).
    public var recordedSteps: Int { steps.count }

    /// Whether an operation on `inputs` must record a backward step.
    @inline(__always)
    public func needsGradient(_ inputs: Variable?...) -> Bool {
        recording && inputs.contains { $0?.requiresGradient == true }
    }

    /// Appends a backward step. Operations written outside this module (losses in Training)
    /// use this with `Variable.addGradient`.
    public func record(_ step: @escaping () -> Void) {
        steps.append(step)
    }

    /// Seeds d(loss)/d(loss) = 1 (loss must hold one value) and runs every recorded step in
    /// reverse. The tape is empty afterwards.
    public func backward(from loss: Variable) {
        precondition(loss.count == 1, "Tape.backward: the loss must be a single value, got shape \(loss.shape)")
        loss.gradient = [1]
        for step in steps.reversed() { step() }
        steps.removeAll()
    }

    /// Seeds an arbitrary output gradient (for gradient checks of ops with many outputs).
    public func backward(from output: Variable, seed: [Float]) {
        precondition(seed.count == output.count, "Tape.backward: seed has the wrong size")
        output.gradient = seed
        for step in steps.reversed() { step() }
        steps.removeAll()
    }
}

extension Variable {
    /// Adds `delta` (same size as the value) to the gradient; for backward steps written
    /// outside this module.
    public func addGradient(_ delta: [Float]) {
        precondition(delta.count == count, "Variable.addGradient: size mismatch")
        accumulate { pointer in
            for index in 0..<delta.count { pointer[index] += delta[index] }
        }
    }
}
