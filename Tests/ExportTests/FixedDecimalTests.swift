import Foundation
import Common
import ExportKit
import Testing

/// The exporters' fast number text must be byte-identical to DecimalFormat's.
@Suite struct FixedDecimalTests {
    @Test(arguments: 0...9)
    func matchesDecimalFormatOnRandomValues(places: Int) {
        var random = SplitMix(seed: UInt64(places) &+ 99)
        for index in 0..<5_000 {
            // Magnitudes from 1e-9 to 1e10, both signs: the fast path and the fallback.
            let magnitude = pow(10, random.unit() * 19 - 9)
            let value = (index % 2 == 0 ? 1 : -1) * magnitude * random.unit()
            #expect(FixedDecimal.string(value, places) == DecimalFormat.fixed(value, places), "\(value) at \(places)")
            #expect(FixedDecimal.trimmed(value, places) == DecimalFormat.trimmed(value, places), "\(value) at \(places)")
        }
    }

    @Test(arguments: 0...6)
    func matchesOnTiesAndEdges(places: Int) {
        let scale = pow(10.0, Double(places))
        var values: [Double] = [0, -0.0, 1, -1, 0.5, -0.5, 2.5, 1e-12, -1e-12, 99.9999995, 100, 3600, 3599.99999949]
        for k in 0..<1_000 {
            // Exact and near ties: (k + 0.5) / 10^places, and a hair either side.
            let tie = (Double(k) + 0.5) / scale
            values += [tie, -tie, tie.nextUp, tie.nextDown, Double(k) / scale, Double(k) / 3]
        }
        for value in values {
            #expect(FixedDecimal.string(value, places) == DecimalFormat.fixed(value, places), "\(value) at \(places)")
        }
    }

    @Test func integers() {
        for value: Int64 in [0, 7, -7, 46_186_158_000, -46_186_158_000, .max, .min] {
            var bytes: [UInt8] = []
            FixedDecimal.appendInteger(value, to: &bytes)
            #expect(String(decoding: bytes, as: UTF8.self) == String(value))
        }
    }
}
