import Common
import Foundation
import JSONIO

/// The EmotionTrack JSON format.
///
/// ```json
/// {
///   "format": "emobake-track", "version": 1,
///   "source": "line_001.wav", "model": "emobake-compact-v1",
///   "emotions": ["neutral", "happy", ...],
///   "times": [0.0, 0.02, ...],               // seconds, strictly increasing
///   "alpha": [[1.2, 0.3, ...], ...]          // one row of K positive numbers per time
/// }
/// ```
/// Tracks from other tools may give `"mixture"` (rows summing to 1) instead of `alpha`,
/// optionally with `"concentration"` (one positive number per frame; see
/// `defaultConcentration`), and `"frameRate"` (frames at i / frameRate) instead of `times`.
/// `format`, `version`, `source` and `model` are optional when reading.
extension EmotionTrack {
    public static let formatName = "emobake-track"
    public static let formatVersion = 1

    public static func parseJSON(_ data: Data, source: String) throws -> EmotionTrack {
        let root = JSONField(try JSONCodec.parse(data, source: source), source: source)
        if let format = try root.optional("format") {
            let name = try format.string()
            guard name == formatName else {
                throw format.fail("format is \"\(name)\", expected \"\(formatName)\"", code: "track.format")
            }
        }
        if let version = try root.optional("version") {
            let number = try version.int()
            guard number <= formatVersion else {
                throw version.fail("version \(number) is newer than this EmoBake reads (\(formatVersion))", code: "track.version")
            }
        }
        let emotions = try root.required("emotions").strings()
        let canonical = try canonicalEmotions(emotions, source: source)
        let origin = try root.optional("source")?.string()
        let model = try root.optional("model")?.string()

        let rowFields: [JSONField]
        let isMixture: Bool
        if let alphaField = try root.optional("alpha") {
            rowFields = try alphaField.array()
            isMixture = false
        } else if let mixtureField = try root.optional("mixture") {
            rowFields = try mixtureField.array()
            isMixture = true
        } else {
            throw root.fail("missing field \"alpha\" (or \"mixture\")", code: "track.missingAlpha")
        }
        guard !rowFields.isEmpty else { throw EmotionCoreError("track.empty", "\(source): the track has no frames") }

        let times: [Double]
        if let timesField = try root.optional("times") {
            // Finiteness and order are checked per frame in `validated`.
            times = try numbers(in: timesField)
        } else if let rateField = try root.optional("frameRate") {
            let rate = try rateField.double()
            guard rate > 0, rate <= 10_000 else { throw rateField.fail("frame rate \(rate) must be in (0, 10000]") }
            times = (0..<rowFields.count).map { Double($0) / rate }
        } else {
            throw root.fail("missing field \"times\" (or \"frameRate\")", code: "track.missingTimes")
        }
        let concentrations = try root.optional("concentration")?.array()
        if let concentrations, concentrations.count != rowFields.count {
            throw EmotionCoreError(
                "track.frameCount", "\(source): \(concentrations.count) concentrations for \(rowFields.count) frames")
        }

        var rows: [[Double]] = []
        rows.reserveCapacity(rowFields.count)
        for (frame, rowField) in rowFields.enumerated() {
            let row = try numbers(in: rowField)
            if isMixture {
                guard row.count == canonical.count else {
                    throw EmotionCoreError(
                        "track.rowLength", "\(source): frame \(frame): \(row.count) values for \(canonical.count) emotions")
                }
                let concentration = try concentrations?[frame].double() ?? defaultConcentration
                rows.append(try alphaFromMixture(row, concentration: concentration, frame: frame, emotions: canonical, source: source))
            } else {
                rows.append(row)
            }
        }
        return try validated(emotions: emotions, times: times, rows: rows, source: source, origin: origin, model: model)
    }

    /// The numbers of an array field. Tracks hold millions of numbers, so the path of an
    /// element is only formatted when that element is wrong.
    private static func numbers(in field: JSONField) throws -> [Double] {
        guard let items = field.value.arrayValue else { throw field.fail("expected an array, found \(field.value.kindName)") }
        var result: [Double] = []
        result.reserveCapacity(items.count)
        for (index, item) in items.enumerated() {
            guard let value = item.doubleValue else {
                throw JSONField(item, source: field.source, path: "\(field.path)[\(index)]")
                    .fail("expected a number, found \(item.kindName)", code: "track.notNumber")
            }
            result.append(value)
        }
        return result
    }

    /// The track as JSON: times with 6 decimals (microseconds), alpha in shortest
    /// round-trip form (alpha can be as small as 1e-6), keys in a fixed order.
    public func jsonData() throws -> Data {
        var object = JSONObject()
        object["format"] = .string(Self.formatName)
        object["version"] = .integer(Int64(Self.formatVersion))
        if let source { object["source"] = .string(source) }
        if let model { object["model"] = .string(model) }
        object["emotions"] = .array(emotions.map { .string($0) })
        object["times"] = .array(times.map { .decimal($0, places: 6) })
        object["alpha"] = .array((0..<frameCount).map { frame in .array(alpha(frame: frame).map { .number($0) }) })
        return try JSONCodec.serializedData(.object(object), style: .compact)
    }
}
