import Common

/// An output frame rate as an exact fraction (29.97 fps is 30000/1001), so that frame n sits
/// at exactly n * denominator / numerator seconds and never drifts over long clips.
public struct FrameRate: Sendable, Hashable, CustomStringConvertible {
    public let numerator: Int
    public let denominator: Int

    public init(numerator: Int, denominator: Int = 1) {
        precondition(numerator > 0 && denominator > 0, "FrameRate must be positive")
        self.numerator = numerator
        self.denominator = denominator
    }

    /// The rates animators use; other rates are allowed but exporters may need a custom mode.
    public static let common: [FrameRate] = [24, 25, 30, 48, 50, 60, 120].map { FrameRate(numerator: $0) }
        + [FrameRate(numerator: 24000, denominator: 1001), FrameRate(numerator: 30000, denominator: 1001),
           FrameRate(numerator: 60000, denominator: 1001)]

    /// Parses "30", "29.97" (read as 30000/1001), "23.976", "59.94", or "30000/1001".
    public static func parse(_ text: String) throws -> FrameRate {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let slash = trimmed.firstIndex(of: "/") {
            if let numerator = Int(trimmed[..<slash]), let denominator = Int(trimmed[trimmed.index(after: slash)...]),
                numerator > 0, denominator > 0, numerator <= 1_000_000, denominator <= 1_000_000
            {
                return FrameRate(numerator: numerator, denominator: denominator)
            }
        } else if let whole = Int(trimmed), whole > 0, whole <= 1000 {
            return FrameRate(numerator: whole)
        } else if let value = Double(trimmed), value.isFinite {
            for ntsc in [24, 30, 48, 60, 120] where abs(value - Double(ntsc) * 1000 / 1001) < 0.006 {
                return FrameRate(numerator: ntsc * 1000, denominator: 1001)
            }
            // Any other rate with up to three decimals is kept exactly as a fraction (33.3 = 333/10).
            let thousandths = (value * 1000).rounded()
            if value > 0, value <= 1000, abs(thousandths - value * 1000) < 1e-6 {
                let numerator = Int(thousandths)
                var divisor = 1000
                var reduced = numerator
                while divisor > 1, reduced % 10 == 0 { reduced /= 10; divisor /= 10 }
                return FrameRate(numerator: reduced, denominator: divisor)
            }
        }
        throw CurvesError(
            "frameRate.invalid", "invalid frame rate \"\(text)\": use a positive number up to 1000 with at most 3 decimals (24, 30, 29.97, 33.3) or a fraction like 30000/1001")
    }

    public var framesPerSecond: Double { Double(numerator) / Double(denominator) }

    /// The exact time of frame `n`, in seconds.
    public func time(ofFrame n: Int) -> Double { Double(n) * Double(denominator) / Double(numerator) }

    /// The last frame whose time is at or before `seconds` (plus a 1e-9 s tolerance).
    public func lastFrame(atOrBefore seconds: Double) -> Int {
        Int((seconds * Double(numerator) / Double(denominator) + 1e-9).rounded(.down))
    }

    /// "30", "29.97", "23.976".
    public var description: String {
        denominator == 1 ? String(numerator) : DecimalFormat.trimmed(framesPerSecond, 3)
    }
}

import Foundation
