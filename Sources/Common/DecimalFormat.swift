/// Byte-deterministic number text for every file EmoBake writes.
///
/// Output files must be identical across runs, machines and thread counts, so numbers are
/// printed with a fixed number of decimals (rounded half away from zero by the C library's
/// correctly-rounded `%.*f`), with `-0` normalised to `0`.
public enum DecimalFormat {
    /// `value` with exactly `places` decimals, for example `fixed(0.5, 3) == "0.500"`.
    public static func fixed(_ value: Double, _ places: Int) -> String {
        precondition(value.isFinite, "DecimalFormat.fixed: non-finite value")
        var text = String(cString: formatC(value, places))
        if text.hasPrefix("-"), text.dropFirst().allSatisfy({ $0 == "0" || $0 == "." }) {
            text.removeFirst()
        }
        return text
    }

    /// Like `fixed` but trailing zeros (and a trailing point) are removed: `trimmed(0.5, 6) == "0.5"`.
    public static func trimmed(_ value: Double, _ places: Int) -> String {
        var text = fixed(value, places)
        if text.contains(".") {
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
        }
        return text
    }

    private static func formatC(_ value: Double, _ places: Int) -> [CChar] {
        var buffer = [CChar](repeating: 0, count: 400)
        _ = withVaList([Int32(places), value]) { arguments in
            vsnprintf(&buffer, buffer.count, "%.*f", arguments)
        }
        return buffer
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
