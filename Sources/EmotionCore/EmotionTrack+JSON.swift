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

    /// Reads a track. Strict JSON whose big arrays are plain numbers (everything EmoBake
    /// and ordinary JSON writers produce) is read by `JSONScanner` straight into flat
    /// arrays; anything else - malformed JSON, json-c's extensions such as NaN, duplicate
    /// keys, very deep nesting (see `JSONScanner`) - goes through `JSONCodec.parse`
    /// (json-c), which gives the errors. Both paths run the same checks below, so a file
    /// reads to the same track, or fails with the same message, whichever path it takes.
    public static func parseJSON(_ data: Data, source: String) throws -> EmotionTrack {
        let document: TrackDocument
        if let members = JSONScanner.scanObject(data) {
            document = TrackDocument(members: members, source: source)
        } else {
            document = TrackDocument(root: JSONField(try JSONCodec.parse(data, source: source), source: source))
        }
        return try decode(document, source: source)
    }

    private static func decode(_ document: TrackDocument, source: String) throws -> EmotionTrack {
        let root = document.root
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

        let rows: NumberRows
        let isMixture: Bool
        if let alphaRows = try document.rows("alpha") {
            rows = alphaRows
            isMixture = false
        } else if let mixtureRows = try document.rows("mixture") {
            rows = mixtureRows
            isMixture = true
        } else {
            throw root.fail("missing field \"alpha\" (or \"mixture\")", code: "track.missingAlpha")
        }
        guard rows.count > 0 else { throw EmotionCoreError("track.empty", "\(source): the track has no frames") }

        let times: [Double]
        if let timesList = try document.numbers("times") {
            // Finiteness and order are checked per frame in `validated`.
            times = try timesList.values()
        } else if let rateField = try root.optional("frameRate") {
            let rate = try rateField.double()
            guard rate > 0, rate <= 10_000 else { throw rateField.fail("frame rate \(rate) must be in (0, 10000]") }
            times = (0..<rows.count).map { Double($0) / rate }
        } else {
            throw root.fail("missing field \"times\" (or \"frameRate\")", code: "track.missingTimes")
        }
        let concentrations = try document.numbers("concentration")?.concentrations()
        if let concentrations, concentrations.count != rows.count {
            throw EmotionCoreError(
                "track.frameCount", "\(source): \(concentrations.count) concentrations for \(rows.count) frames")
        }

        if !isMixture, case .flat(let values, let rowEnds) = rows {
            return try validated(
                emotions: emotions, times: times, values: values, rowEnds: rowEnds, source: source, origin: origin, model: model)
        }
        var alpha: [Double] = []
        var rowEnds: [Int] = []
        alpha.reserveCapacity(rows.count * canonical.count)
        rowEnds.reserveCapacity(rows.count)
        for frame in 0..<rows.count {
            let row = try rows.row(frame)
            if isMixture {
                guard row.count == canonical.count else {
                    throw EmotionCoreError(
                        "track.rowLength", "\(source): frame \(frame): \(row.count) values for \(canonical.count) emotions")
                }
                let concentration = try concentrations?.value(frame) ?? defaultConcentration
                alpha.append(
                    contentsOf: try alphaFromMixture(row, concentration: concentration, frame: frame, emotions: canonical, source: source))
            } else {
                alpha.append(contentsOf: row)
            }
            rowEnds.append(alpha.count)
        }
        return try validated(
            emotions: emotions, times: times, values: alpha, rowEnds: rowEnds, source: source, origin: origin, model: model)
    }

    /// The numbers of an array field. Tracks hold millions of numbers, so the path of an
    /// element is only formatted when that element is wrong.
    fileprivate static func numbers(in field: JSONField) throws -> [Double] {
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

/// A parsed track document: the small fields as JSON values under `root`, and the big
/// numeric arrays either in that tree (json-c path) or flat (scanner path, `flat`).
private struct TrackDocument {
    let root: JSONField
    var flat: [String: ScannedMember] = [:]

    init(root: JSONField) { self.root = root }

    init(members: [(key: String, member: ScannedMember)], source: String) {
        var small: [(key: String, value: JSONValue)] = []
        for (key, member) in members {
            if case .value(let value) = member { small.append((key, value)) } else { flat[key] = member }
        }
        root = JSONField(.object(JSONObject(small)), source: source)
    }

    /// A field of rows of numbers (`alpha`, `mixture`).
    func rows(_ key: String) throws -> NumberRows? {
        if let member = flat[key] {
            if case .rows(let values, let rowEnds) = member { return .flat(values: values, rowEnds: rowEnds) }
            return .tree(try field(key, member).array())
        }
        return try root.optional(key).map { .tree(try $0.array()) }
    }

    /// A field holding one number per frame (`times`, `concentration`).
    func numbers(_ key: String) throws -> NumberList? {
        if let member = flat[key] {
            if case .numbers(let values) = member { return .flat(values, path: key, source: root.source) }
            return .tree(field(key, member))
        }
        return try root.optional(key).map { .tree($0) }
    }

    /// A flat member of an unexpected shape as a tree, so that it fails as json-c's would.
    private func field(_ key: String, _ member: ScannedMember) -> JSONField {
        JSONField(member.jsonValue, source: root.source, path: key)
    }
}

private enum NumberRows {
    case tree([JSONField])
    case flat(values: [Double], rowEnds: [Int])

    var count: Int {
        switch self {
        case .tree(let fields): return fields.count
        case .flat(_, let rowEnds): return rowEnds.count
        }
    }

    func row(_ frame: Int) throws -> ArraySlice<Double> {
        switch self {
        case .tree(let fields): return try EmotionTrack.numbers(in: fields[frame])[...]
        case .flat(let values, let rowEnds): return values[(frame == 0 ? 0 : rowEnds[frame - 1])..<rowEnds[frame]]
        }
    }
}

private enum NumberList {
    case tree(JSONField)
    case flat([Double], path: String, source: String)

    /// All values; finiteness is the caller's check.
    func values() throws -> [Double] {
        switch self {
        case .tree(let field): return try EmotionTrack.numbers(in: field)
        case .flat(let values, _, _): return values
        }
    }

    /// Concentrations: an array is required here, each value is checked when it is used.
    func concentrations() throws -> Concentrations {
        switch self {
        case .tree(let field): return .tree(try field.array())
        case .flat(let values, let path, let source): return .flat(values, path: path, source: source)
        }
    }
}

private enum Concentrations {
    case tree([JSONField])
    case flat([Double], path: String, source: String)

    var count: Int {
        switch self {
        case .tree(let fields): return fields.count
        case .flat(let values, _, _): return values.count
        }
    }

    /// The frame's concentration, a finite number (the message of `JSONField.double`).
    func value(_ frame: Int) throws -> Double {
        switch self {
        case .tree(let fields): return try fields[frame].double()
        case .flat(let values, let path, let source):
            guard values[frame].isFinite else {
                return try JSONField(.number(values[frame]), source: source, path: "\(path)[\(frame)]").double()
            }
            return values[frame]
        }
    }
}
