/// softmax over each row of `rows x width`, in place: e^(x - max) / sum.
// (rows, width) -> (rows, width)
public func softmaxRows(_ x: UnsafeMutablePointer<Float>, rows: Int, width: Int, threaded: Bool = true) {
    let body: (Range<Int>) -> Void = { range in
        for row in range {
            let data = x + row * width
            var largest = -Float.infinity
            for index in 0..<width { largest = max(largest, data[index]) }
            var total: Float = 0
            for index in 0..<width { data[index] = FastMath.exp(data[index] - largest) }
            for index in 0..<width { total += data[index] }
            let inverse = 1 / total
            for index in 0..<width { data[index] *= inverse }
        }
    }
    if threaded { KernelThreads.forEach(rows, grain: 16, body) } else { body(0..<rows) }
}
