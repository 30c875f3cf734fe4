import Common
import Foundation
import JSONIO

/// One smoothing stage applied to a blendshape curve sampled on a uniform grid (step h
/// seconds). All parameters are in seconds or hertz, so a preset means the same at any rate.
public enum SmoothingFilter: Sendable, Equatable {
    /// Leaves the curve as it is.
    case none
    /// First-order low-pass: `y_n = y_(n-1) + a (x_n - y_(n-1))`, `a = 1 - exp(-h / timeConstant)`,
    /// `y_0 = x_0`. A step reaches 63.2% after `timeConstant` seconds. `zeroPhase` runs it
    /// forward, then backward over the result, which cancels the lag (offline only).
    case exponential(timeConstant: Double, zeroPhase: Bool)
    /// The One-Euro filter (Casiez, Roussel, Vogel, CHI 2012): an exponential filter whose
    /// cutoff rises with speed, `fc = minCutoff + beta * |dx/dt|` (Hz), with the derivative
    /// itself low-passed at `derivativeCutoff` Hz; `a(fc) = 1 / (1 + 1 / (2 pi fc h))`. Little
    /// lag on fast moves, strong smoothing of slow jitter. Causal.
    case oneEuro(minCutoff: Double, beta: Double, derivativeCutoff: Double)
    /// A critically damped spring pulled toward the input, `y'' = w^2 (x - y) - 2 w y'` with
    /// `w = 2 / smoothTime` (the convention of game engines' "smooth damp"), integrated exactly
    /// over each step with the input held. No overshoot for a step input.
    case criticallyDampedSpring(smoothTime: Double, zeroPhase: Bool)
    /// Savitzky-Golay: a least-squares polynomial of degree `order` fitted over a window of
    /// `window` seconds (rounded to an odd number of samples, 2m + 1), evaluated at each
    /// sample; near the ends the window is shifted inside the curve and the fit evaluated off
    /// centre. Keeps peaks better than a Gaussian; reproduces polynomials up to `order` exactly.
    case savitzkyGolay(window: Double, order: Int)
    /// Gaussian kernel of standard deviation `sigma` seconds, truncated at 3 sigma; near the ends
    /// the kernel is cut at the curve and renormalised. Zero phase.
    case gaussian(sigma: Double)

    /// The `type` names of the preset file format.
    public static let typeNames = ["none", "exponential", "oneEuro", "spring", "savitzkyGolay", "gaussian"]

    public var typeName: String {
        switch self {
        case .none: return "none"
        case .exponential: return "exponential"
        case .oneEuro: return "oneEuro"
        case .criticallyDampedSpring: return "spring"
        case .savitzkyGolay: return "savitzkyGolay"
        case .gaussian: return "gaussian"
        }
    }

    /// "gaussian sigma=0.05s" and the like.
    public var summary: String {
        func seconds(_ value: Double) -> String { DecimalFormat.trimmed(value, 6) + "s" }
        switch self {
        case .none: return "none"
        case .exponential(let tau, let zeroPhase):
            return "exponential timeConstant=\(seconds(tau))" + (zeroPhase ? " zeroPhase" : "")
        case .oneEuro(let minCutoff, let beta, let derivativeCutoff):
            return "oneEuro minCutoff=\(DecimalFormat.trimmed(minCutoff, 6))Hz beta=\(DecimalFormat.trimmed(beta, 6))"
                + " derivativeCutoff=\(DecimalFormat.trimmed(derivativeCutoff, 6))Hz"
        case .criticallyDampedSpring(let smoothTime, let zeroPhase):
            return "spring smoothTime=\(seconds(smoothTime))" + (zeroPhase ? " zeroPhase" : "")
        case .savitzkyGolay(let window, let order):
            return "savitzkyGolay window=\(seconds(window)) order=\(order)"
        case .gaussian(let sigma):
            return "gaussian sigma=\(seconds(sigma))"
        }
    }

    /// Type and parameters at full precision (shortest round-trip text), for fingerprints.
    var exactDescription: String {
        switch self {
        case .none: return "none"
        case .exponential(let tau, let zeroPhase): return "exponential \(tau) \(zeroPhase)"
        case .oneEuro(let minCutoff, let beta, let derivativeCutoff): return "oneEuro \(minCutoff) \(beta) \(derivativeCutoff)"
        case .criticallyDampedSpring(let smoothTime, let zeroPhase): return "spring \(smoothTime) \(zeroPhase)"
        case .savitzkyGolay(let window, let order): return "savitzkyGolay \(window) \(order)"
        case .gaussian(let sigma): return "gaussian \(sigma)"
        }
    }

    /// Throws if a parameter is out of range; `place` names the file and field.
    func validate(place: String) throws {
        func check(_ ok: Bool, _ problem: String) throws {
            if !ok { throw CurvesError("smoothing.parameter", "\(place): \(problem)") }
        }
        let longest = 3600.0
        switch self {
        case .none: break
        case .exponential(let tau, _):
            try check(tau.isFinite && tau > 0 && tau <= longest, "timeConstant must be > 0 and <= \(Int(longest)) seconds")
        case .oneEuro(let minCutoff, let beta, let derivativeCutoff):
            try check(minCutoff.isFinite && minCutoff > 0 && minCutoff <= 1000, "minCutoff must be > 0 and <= 1000 Hz")
            try check(beta.isFinite && beta >= 0 && beta <= 1000, "beta must be >= 0 and <= 1000")
            try check(
                derivativeCutoff.isFinite && derivativeCutoff > 0 && derivativeCutoff <= 1000,
                "derivativeCutoff must be > 0 and <= 1000 Hz")
        case .criticallyDampedSpring(let smoothTime, _):
            try check(smoothTime.isFinite && smoothTime > 0 && smoothTime <= longest, "smoothTime must be > 0 and <= \(Int(longest)) seconds")
        case .savitzkyGolay(let window, let order):
            try check(window.isFinite && window > 0 && window <= 60, "window must be > 0 and <= 60 seconds")
            try check((0...6).contains(order), "order must be a whole number from 0 to 6")
        case .gaussian(let sigma):
            try check(sigma.isFinite && sigma > 0 && sigma <= 60, "sigma must be > 0 and <= 60 seconds")
        }
    }
}

/// A named chain of smoothing filters (`Presets/smoothing/<name>.json` or a user file),
/// applied in order to every blendshape curve on a uniform time grid.
///
/// Shipped: `raw` (no smoothing), `game` (One-Euro: responsive, causal, as a game would filter
/// live data), `film` (zero-phase Savitzky-Golay then a light Gaussian: no lag, peaks kept;
/// the default for offline baking).
public struct SmoothingPreset: Sendable, Equatable {
    /// The preset `emobake convert` uses when none is given.
    public static let defaultName = "film"

    public var name: String
    public var description: String
    public var filters: [SmoothingFilter]
    /// The file this preset was read from, if any.
    public var file: String?

    /// A preset built in code; parameters are checked.
    public init(name: String, filters: [SmoothingFilter], description: String = "", file: String? = nil) throws {
        self.name = name
        self.filters = filters
        self.description = description
        self.file = file
        for (index, filter) in filters.enumerated() {
            try filter.validate(place: "\(file ?? "smoothing \"\(name)\""): filters[\(index)]")
        }
    }

    /// No smoothing at all (the same as the shipped `raw` preset).
    public static var none: SmoothingPreset { SmoothingPreset(uncheckedName: "raw", filters: []) }

    private init(uncheckedName: String, filters: [SmoothingFilter]) {
        self.name = uncheckedName
        self.filters = filters
        self.description = "no smoothing"
        self.file = nil
    }

    /// Loads `Presets/smoothing/<name>.json`, or a file if `nameOrPath` contains `/` or ends in `.json`.
    public static func load(_ nameOrPath: String, presetsDirectory: URL) throws -> SmoothingPreset {
        let url = try PresetFiles.resolve(nameOrPath, .smoothing, presetsDirectory: presetsDirectory)
        return try PresetFiles.parse(url, .smoothing) { try SmoothingPreset(json: $0, file: url.path) }
    }

    /// The names of the shipped smoothing presets, sorted.
    public static func availableNames(presetsDirectory: URL) throws -> [String] {
        try PresetFiles.names(.smoothing, presetsDirectory: presetsDirectory)
    }

    /// Text for `emobake presets show NAME`.
    public func describe() -> String {
        var lines = ["smoothing \(name)" + (description.isEmpty ? "" : ": \(description)")]
        if let file { lines.append("file: \(file)") }
        if filters.isEmpty {
            lines.append("filters: none (curves are only clamped, resampled and key-reduced)")
        } else {
            lines.append("filters, applied in order on a uniform grid:")
            for (index, filter) in filters.enumerated() { lines.append("  \(index + 1). \(filter.summary)") }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Runs the filters over `samples`, evenly spaced `sampleInterval` seconds apart (no clamping:
    /// the clip builder clamps to [0, 1] around this).
    public func smooth(_ samples: [Double], sampleInterval: Double) -> [Double] {
        let plan = SmoothingPlan(filters, sampleInterval: sampleInterval, count: samples.count)
        guard !plan.isIdentity else { return samples }
        var values = samples
        var scratch = [Double](repeating: 0, count: samples.count)
        values.withUnsafeMutableBufferPointer { values in
            scratch.withUnsafeMutableBufferPointer { plan.apply(values, scratch: $0) }
        }
        return values
    }

    /// "savitzkyGolay window=0.3s order=2 + gaussian sigma=0.03s", or "none".
    public var filterSummary: String {
        filters.isEmpty ? "none" : filters.map(\.summary).joined(separator: " + ")
    }
}

extension SmoothingPreset {
    /// Reads the smoothing preset file format:
    ///
    ///     { "name": "film", "description": "...",
    ///       "filters": [ { "type": "savitzkyGolay", "window": 0.3, "order": 2 },
    ///                    { "type": "gaussian", "sigma": 0.03 } ] }
    ///
    /// Filter fields: exponential `timeConstant` (s), `zeroPhase` (default false); oneEuro
    /// `minCutoff` (Hz), `beta`, `derivativeCutoff` (Hz, default 1); spring `smoothTime` (s),
    /// `zeroPhase` (default false); savitzkyGolay `window` (s), `order`; gaussian `sigma` (s).
    init(json root: JSONField, file: String) throws {
        try root.requireOnlyKeys(["format", "version", "name", "description", "filters"])
        if let format = try root.optional("format"), try format.string() != "emobake-smoothing" {
            throw format.fail("expected \"emobake-smoothing\"")
        }
        if let version = try root.optional("version"), try version.int() != 1 {
            throw version.fail("unsupported version (this EmoBake reads version 1)")
        }
        let name = try root.required("name").name()
        let description = try root.optional("description")?.string() ?? ""
        var filters: [SmoothingFilter] = []
        for entry in try root.required("filters").array() {
            let typeField = try entry.required("type")
            let type = try typeField.string()
            func number(_ key: String, default fallback: Double? = nil) throws -> Double {
                if let fallback, try entry.optional(key) == nil { return fallback }
                return try entry.required(key).double()
            }
            func flag(_ key: String) throws -> Bool { try entry.optional(key)?.bool() ?? false }
            let filter: SmoothingFilter
            switch type {
            case "none":
                try entry.requireOnlyKeys(["type"])
                filter = .none
            case "exponential":
                try entry.requireOnlyKeys(["type", "timeConstant", "zeroPhase"])
                filter = .exponential(timeConstant: try number("timeConstant"), zeroPhase: try flag("zeroPhase"))
            case "oneEuro":
                try entry.requireOnlyKeys(["type", "minCutoff", "beta", "derivativeCutoff"])
                filter = .oneEuro(
                    minCutoff: try number("minCutoff"), beta: try number("beta"),
                    derivativeCutoff: try number("derivativeCutoff", default: 1))
            case "spring":
                try entry.requireOnlyKeys(["type", "smoothTime", "zeroPhase"])
                filter = .criticallyDampedSpring(smoothTime: try number("smoothTime"), zeroPhase: try flag("zeroPhase"))
            case "savitzkyGolay":
                try entry.requireOnlyKeys(["type", "window", "order"])
                filter = .savitzkyGolay(window: try number("window"), order: try entry.required("order").int())
            case "gaussian":
                try entry.requireOnlyKeys(["type", "sigma"])
                filter = .gaussian(sigma: try number("sigma"))
            default:
                throw typeField.fail(
                    "unknown filter \"\(type)\" (choose from \(SmoothingFilter.typeNames.joined(separator: ", ")))",
                    code: "smoothing.unknownFilter")
            }
            try filter.validate(place: "\(file): \(entry.path)")
            filters.append(filter)
        }
        try self.init(name: name, filters: filters, description: description, file: file)
    }
}
