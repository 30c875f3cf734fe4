import CSoxr

/// The only code that calls libsoxr: a streaming mono resampler (high quality: 20-bit
/// precision, passband to 91% of the lower Nyquist frequency, linear phase), fed in blocks so
/// that memory stays bounded whatever the length.
final class Resampler {
    private var state: soxr_t?
    let ratio: Double
    private let source: String

    init(from inputRate: Int, to outputRate: Int, source: String) throws {
        self.source = source
        ratio = Double(outputRate) / Double(inputRate)
        var ioSpec = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I)
        var quality = soxr_quality_spec(UInt(SOXR_HQ), 0)
        var error: soxr_error_t?
        state = soxr_create(Double(inputRate), Double(outputRate), 1, &error, &ioSpec, &quality, nil)
        if let error {
            throw AudioError("audio.resample", "\(source): cannot resample \(inputRate) Hz to \(outputRate) Hz (\(String(cString: error)))")
        }
    }

    deinit { if let state { soxr_delete(state) } }

    /// Resamples one block, appending what the filter releases to `output`.
    func process(_ input: UnsafeBufferPointer<Float>, into output: inout [Float]) throws {
        guard let state, let base = input.baseAddress else { return }
        var consumed = 0
        while consumed < input.count {
            var used = 0
            let produced = try run { soxr_process(state, base + consumed, input.count - consumed, &used, $0, $1, &$2) }
            output.append(contentsOf: scratch[..<produced])
            consumed += used
            if used == 0 && produced == 0 { break }
        }
    }

    /// Drains the filter's tail at the end of the input.
    func finish(into output: inout [Float]) throws {
        guard let state else { return }
        while true {
            let produced = try run { soxr_process(state, nil, 0, nil, $0, $1, &$2) }
            if produced == 0 { break }
            output.append(contentsOf: scratch[..<produced])
        }
    }

    private var scratch = [Float](repeating: 0, count: 16_384)

    private func run(_ call: (UnsafeMutablePointer<Float>, Int, inout Int) -> soxr_error_t?) throws -> Int {
        var produced = 0
        let error = scratch.withUnsafeMutableBufferPointer { call($0.baseAddress!, $0.count, &produced) }
        if let error {
            throw AudioError("audio.resample", "\(source): resampling failed (\(String(cString: error)))")
        }
        return produced
    }
}
