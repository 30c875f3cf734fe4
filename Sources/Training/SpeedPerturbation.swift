import Foundation

/// Speed perturbation: plays audio `factor` times faster (pitch and tempo together, as
/// resampling does), by band-limited interpolation.
///
/// Output sample n is the input read at position n * factor through a Hann-windowed sinc
/// with 16 zero crossings on each side. When speeding up (factor > 1) the sinc is widened
/// so that its cut-off sits at 92% of the new Nyquist frequency (0.46 / factor cycles per
/// input sample), below it by about the filter's transition width: the content that would
/// alias is removed instead of folding down. The kernel is
/// tabulated at 1/512-sample steps and interpolated linearly (error below 1e-5 of full scale).
public enum SpeedPerturbation {
    static let tableSteps = 512

    public static func apply(_ samples: [Float], factor: Double) -> [Float] {
        precondition(factor > 0, "SpeedPerturbation: factor must be positive")
        if factor == 1 { return samples }
        let outputCount = Int(Double(samples.count) / factor)
        let cutoff = factor > 1 ? 0.92 / factor : 1  // relative to the input Nyquist frequency
        let halfWidth = 16.0 / cutoff  // in input samples
        let tableCount = Int(halfWidth * Double(tableSteps)) + 2
        // kernel(d) for d = i / tableSteps, i >= 0 (the kernel is even).
        let table: [Float] = (0..<tableCount).map { i in
            let distance = Double(i) / Double(tableSteps)
            guard distance < halfWidth else { return 0 }
            let x = distance * cutoff
            let sinc = x == 0 ? 1 : sin(Double.pi * x) / (Double.pi * x)
            return Float(cutoff * sinc * (0.5 + 0.5 * cos(Double.pi * distance / halfWidth)))
        }
        var output = [Float](repeating: 0, count: outputCount)
        table.withUnsafeBufferPointer { kernel in
            samples.withUnsafeBufferPointer { input in
                for n in 0..<outputCount {
                    let position = Double(n) * factor
                    let first = max(0, Int((position - halfWidth).rounded(.up)))
                    let last = min(input.count - 1, Int((position + halfWidth).rounded(.down)))
                    guard first <= last else { continue }
                    // Taps left of the position, then right of it: the table index steps by
                    // tableSteps per tap, from the same fractional phase.
                    var sum: Float = 0
                    let centre = min(last, Int(position.rounded(.down)))
                    if centre >= first {
                        var scaled = (position - Double(centre)) * Double(tableSteps)
                        for index in stride(from: centre, through: first, by: -1) {
                            let lower = Int(scaled)
                            let fraction = Float(scaled - Double(lower))
                            sum += input[index] * (kernel[lower] + (kernel[lower + 1] - kernel[lower]) * fraction)
                            scaled += Double(tableSteps)
                        }
                    }
                    if centre + 1 <= last {
                        var scaled = (Double(max(centre + 1, first)) - position) * Double(tableSteps)
                        for index in max(centre + 1, first)...last {
                            let lower = Int(scaled)
                            let fraction = Float(scaled - Double(lower))
                            sum += input[index] * (kernel[lower] + (kernel[lower + 1] - kernel[lower]) * fraction)
                            scaled += Double(tableSteps)
                        }
                    }
                    output[n] = sum
                }
            }
        }
        return output
    }
}
