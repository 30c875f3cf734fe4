/// Fixed-decimal number text for exporters that write millions of numbers (an hour of 50 fps
/// curves is 9.4 million CSV cells), byte-identical to `DecimalFormat.fixed` and `trimmed`.
///
/// The fast path scales by 10^places in one float multiplication and rounds. The product is
/// off from the exact x * 10^places by at most half an ulp, under 4.8e-7 while |x * 10^places|
/// < 2^33, so rounding it gives the correctly rounded result (what `%.*f` prints) unless the
/// exact value is within 1e-6 of a tie; those values, larger ones and more than 9 places go
/// to `DecimalFormat` itself. Tests compare both on random values and exact ties.
public enum FixedDecimal {
    private static let powers: [Double] = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9]
    private static let fastLimit = 8_589_934_592.0  // 2^33

    /// Appends `DecimalFormat.fixed(value, places)` as UTF-8.
    public static func append(_ value: Double, _ places: Int, to bytes: inout [UInt8]) {
        guard places >= 0, places < powers.count, value.isFinite else {
            bytes.append(contentsOf: DecimalFormat.fixed(value, places).utf8)
            return
        }
        let scaled = abs(value) * powers[places]
        let floor = scaled.rounded(.down)
        let fraction = scaled - floor
        guard scaled < fastLimit, abs(fraction - 0.5) > 1e-6 else {
            bytes.append(contentsOf: DecimalFormat.fixed(value, places).utf8)
            return
        }
        let rounded = Int64(floor) + (fraction > 0.5 ? 1 : 0)
        // Digits are written backwards into a small stack buffer, then appended at once.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { buffer in
            var end = 32
            var rest = rounded
            if places > 0 {
                for _ in 0..<places {
                    end -= 1
                    buffer[end] = UInt8(truncatingIfNeeded: 48 + rest % 10)
                    rest /= 10
                }
                end -= 1
                buffer[end] = UInt8(ascii: ".")
            }
            repeat {
                end -= 1
                buffer[end] = UInt8(truncatingIfNeeded: 48 + rest % 10)
                rest /= 10
            } while rest > 0
            if value < 0 && rounded != 0 {
                end -= 1
                buffer[end] = UInt8(ascii: "-")
            }
            bytes.append(contentsOf: UnsafeMutableBufferPointer(rebasing: buffer[end..<32]))
        }
    }

    /// Appends `DecimalFormat.trimmed(value, places)`: trailing zeros and point removed.
    public static func appendTrimmed(_ value: Double, _ places: Int, to bytes: inout [UInt8]) {
        let start = bytes.count
        append(value, places, to: &bytes)
        guard bytes[start...].contains(UInt8(ascii: ".")) else { return }
        while bytes.last == UInt8(ascii: "0") { bytes.removeLast() }
        if bytes.last == UInt8(ascii: ".") { bytes.removeLast() }
    }

    /// `DecimalFormat.fixed(value, places)`.
    public static func string(_ value: Double, _ places: Int) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(24)
        append(value, places, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `DecimalFormat.trimmed(value, places)`.
    public static func trimmed(_ value: Double, _ places: Int) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(24)
        appendTrimmed(value, places, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends a whole number in decimal.
    public static func appendInteger(_ value: Int64, to bytes: inout [UInt8]) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 24) { buffer in
            var end = 24
            // Negative remainders keep Int64.min exact.
            var rest = value
            repeat {
                end -= 1
                buffer[end] = UInt8(truncatingIfNeeded: 48 + abs(rest % 10))
                rest /= 10
            } while rest != 0
            if value < 0 {
                end -= 1
                buffer[end] = UInt8(ascii: "-")
            }
            bytes.append(contentsOf: UnsafeMutableBufferPointer(rebasing: buffer[end..<24]))
        }
    }
}
