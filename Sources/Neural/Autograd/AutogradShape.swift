extension Tape {
    /// The same values under a new shape (same count); the gradient is passed through.
    public func reshape(_ x: Variable, _ shape: [Int]) -> Variable {
        precondition(shape.reduce(1, *) == x.count, "reshape: \(x.shape) cannot become \(shape)")
        let output = Variable(shape: shape, value: x.value, requiresGradient: x.requiresGradient)
        guard needsGradient(x) else { return output }
        record {
            guard output.gradient.count == output.count else { return }
            output.gradient.withUnsafeBufferPointer { dy in
                x.accumulate { dx in for index in 0..<dy.count { dx[index] += dy[index] } }
            }
        }
        return output
    }

    /// Reorders dimensions: output dimension d is input dimension `order[d]` (as `torch.permute`).
    public func permute(_ x: Variable, _ order: [Int]) -> Variable {
        precondition(order.sorted() == Array(0..<x.shape.count), "permute: \(order) is not a permutation of \(x.shape.count) dimensions")
        let outputShape = order.map { x.shape[$0] }
        var inputStrides = [Int](repeating: 1, count: x.shape.count)
        for d in stride(from: x.shape.count - 2, through: 0, by: -1) { inputStrides[d] = inputStrides[d + 1] * x.shape[d + 1] }
        let strides = order.map { inputStrides[$0] }  // input stride of each output dimension
        let output = Variable(zeros: outputShape, requiresGradient: x.requiresGradient)
        // Maps each output index to its input index by walking an odometer.
        func forEachPair(_ body: (Int, Int) -> Void) {
            let rank = outputShape.count
            var counter = [Int](repeating: 0, count: rank)
            var inputIndex = 0
            for outputIndex in 0..<x.count {
                body(outputIndex, inputIndex)
                var d = rank - 1
                while d >= 0 {
                    counter[d] += 1
                    inputIndex += strides[d]
                    if counter[d] < outputShape[d] { break }
                    inputIndex -= strides[d] * outputShape[d]
                    counter[d] = 0
                    d -= 1
                }
            }
        }
        x.value.withUnsafeBufferPointer { xs in
            output.value.withUnsafeMutableBufferPointer { ys in forEachPair { ys[$0] = xs[$1] } }
        }
        guard needsGradient(x) else { return output }
        record {
            guard output.gradient.count == output.count else { return }
            output.gradient.withUnsafeBufferPointer { dy in
                x.accumulate { dx in forEachPair { dx[$1] += dy[$0] } }
            }
        }
        return output
    }
}
