import Common
import EmotionCore
import Foundation

/// `report.html`: one row per line with a stacked chart of the emotion mixture over time and
/// an audio player, so that a lead can scan a language in minutes. Self-contained (inline SVG,
/// CSS and a few lines of script for filtering), byte-deterministic, and it links the audio
/// with paths relative to the report, so the folder can be moved together with the audio.
/// `report.html#filter=alice` opens with the filter filled in (a link for one character).
public enum ReportHTML {
    /// Colours of the usual emotion names (others take the palette in order).
    static let knownColours: [String: String] = [
        "neutral": "#9e9e9e", "calm": "#80cbc4", "happy": "#fdd835", "sad": "#3f6fd8", "angry": "#e53935",
        "fearful": "#8e24aa", "fear": "#8e24aa", "disgust": "#43a047", "surprised": "#fb8c00", "surprise": "#fb8c00",
    ]
    static let palette = ["#6d4c41", "#00acc1", "#c0ca33", "#d81b60", "#5e35b1", "#546e7a", "#7cb342", "#f4511e"]
    /// Charts show at most this many time columns (frames are averaged into bins).
    static let maximumColumns = 60

    public struct Row: Sendable {
        public var line: ManifestLine
        /// The line's final emotion (ok lines).
        public var track: EmotionTrack?
        /// The audio's path relative to the report, if the line has audio.
        public var audioLink: String?
    }

    /// - model: the model that heard the audio lines (named in the summary), nil when none did.
    public static func render(title: String, rows: [Row], generator: String, model: ModelDescription? = nil) -> Data {
        let failed = rows.filter { $0.line.status == .failed }.count
        var emotionNames: [String] = []
        for row in rows { for name in row.track?.emotions ?? [] where !emotionNames.contains(name) { emotionNames.append(name) } }
        let modelText = model.map { "; audio heard by \(escape($0.identifier))" + ($0.mode.map { " (\(escape($0)))" } ?? "") } ?? ""
        var html = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <title>\(escape(title))</title>
            <style>
            body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
            table{border-collapse:collapse;width:100%}
            th,td{border-bottom:1px solid #ddd;padding:4px 6px;text-align:left;vertical-align:middle;font-size:14px}
            tr.failed td{background:#fdecea}
            .legend span{display:inline-block;margin-right:1em}
            .legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:middle}
            svg.chart{display:block;background:#fafafa}
            .message{color:#b71c1c}
            </style>
            </head>
            <body>
            <h1>\(escape(title))</h1>
            <p id="summary">\(rows.count) lines: \(rows.count - failed) ok, \(failed) failed. \(escape(generator))\(modelText).</p>
            <p><input id="filter" type="search" placeholder="filter by id, character, text, emotion"> <label><input id="failedOnly" type="checkbox"> failed only</label></p>
            <p class="legend">
            """
        for name in emotionNames { html += "<span><i style=\"background:\(colour(for: name, in: emotionNames))\"></i>\(escape(name))</span>" }
        html += """
            </p>
            <table id="lines">
            <thead><tr><th>id</th><th>character</th><th>language</th><th>text</th><th>status</th><th>duration (s)</th><th>dominant</th><th>emotion over time</th><th>audio</th></tr></thead>
            <tbody>

            """
        for row in rows {
            let line = row.line
            let ok = line.status == .ok
            html += "<tr class=\"\(ok ? "ok" : "failed")\" data-search=\"\(escape([line.id, line.character, line.language ?? "", line.text ?? "", line.dominantEmotion ?? "", line.message ?? ""].joined(separator: " ").lowercased()))\">"
            html += "<td>\(escape(line.id))</td><td>\(escape(line.character))</td><td>\(escape(line.language ?? ""))</td>"
            html += "<td>\(escape(line.text ?? ""))</td>"
            html += ok ? "<td>ok</td>" : "<td class=\"message\">failed: \(escape(line.message ?? ""))</td>"
            html += "<td>\(line.duration.map { DecimalFormat.fixed($0, 2) } ?? "")</td><td>\(escape(line.dominantEmotion ?? ""))</td>"
            html += "<td>\(row.track.map { chart($0, duration: line.duration ?? $0.duration, names: emotionNames) } ?? "")</td>"
            html += "<td>\(row.audioLink.map { "<audio controls preload=\"none\" src=\"\(escape(percentEncoded($0)))\"></audio>" } ?? "")</td>"
            html += "</tr>\n"
        }
        html += """
            </tbody>
            </table>
            <script>
            (function(){
              var filter=document.getElementById('filter'),failedOnly=document.getElementById('failedOnly');
              function apply(){
                var q=filter.value.toLowerCase(),rows=document.querySelectorAll('#lines tbody tr');
                for(var i=0;i<rows.length;i++){
                  var r=rows[i],show=r.getAttribute('data-search').indexOf(q)>=0&&(!failedOnly.checked||r.className==='failed');
                  r.style.display=show?'':'none';
                }
              }
              filter.addEventListener('input',apply);failedOnly.addEventListener('change',apply);
              var m=/^#filter=(.*)$/.exec(location.hash);
              if(m){filter.value=decodeURIComponent(m[1]);apply();}
            })();
            </script>
            </body>
            </html>

            """
        return Data(html.utf8)
    }

    /// A stacked area chart: x is time (0 to the line's duration), each band one emotion's
    /// share of the mixture (bands stack to the full height).
    static func chart(_ track: EmotionTrack, duration: Double, names: [String]) -> String {
        // Coordinates are whole numbers in a 3600 x 480 box drawn at 360 x 48 pixels: exact
        // text, no formatting cost, a tenth of a pixel of resolution.
        let width = 3600.0
        let height = 480.0
        let columns = binnedMixtures(track)
        let span = max(duration, track.times.last ?? 0, 1e-6)
        var svg = "<svg class=\"chart\" width=\"360\" height=\"48\" viewBox=\"0 0 3600 480\" preserveAspectRatio=\"none\" role=\"img\">"
        let xs = columns.map { String(Int((min($0.time / span, 1) * width).rounded())) }
        func y(_ share: Double) -> String { String(Int((height - min(max(share, 0), 1) * height).rounded())) }
        var lower = [Double](repeating: 0, count: columns.count)
        for (emotion, name) in track.emotions.enumerated() {
            let upper = zip(lower, columns).map { $0 + $1.mixture[emotion] }
            var points = ""
            for index in columns.indices { points += "\(xs[index]),\(y(upper[index])) " }
            for index in columns.indices.reversed() { points += "\(xs[index]),\(y(lower[index])) " }
            points.removeLast()
            svg += "<polygon fill=\"\(colour(for: name, in: names))\" points=\"\(points)\"><title>\(escape(name))</title></polygon>"
            lower = upper
        }
        return svg + "</svg>"
    }

    struct Column {
        var time: Double
        var mixture: [Double]
    }

    /// The mixture per frame, averaged into at most `maximumColumns` bins of equal frame count.
    /// A one-frame track is drawn as a flat band from 0 to its time.
    static func binnedMixtures(_ track: EmotionTrack) -> [Column] {
        let mixtures = track.mixtures
        let k = track.emotionCount
        let n = track.frameCount
        let bins = min(n, maximumColumns)
        var columns: [Column] = []
        for bin in 0..<bins {
            let first = bin * n / bins
            let last = max(first + 1, (bin + 1) * n / bins)
            var sum = [Double](repeating: 0, count: k)
            var time = 0.0
            for frame in first..<last {
                for i in 0..<k { sum[i] += mixtures[frame * k + i] }
                time += track.times[frame]
            }
            let count = Double(last - first)
            columns.append(Column(time: time / count, mixture: sum.map { $0 / count }))
        }
        if columns.count == 1 {
            columns = [Column(time: 0, mixture: columns[0].mixture), Column(time: max(track.times[0], 1e-3), mixture: columns[0].mixture)]
        }
        return columns
    }

    static func colour(for name: String, in names: [String]) -> String {
        if let known = knownColours[name.lowercased()] { return known }
        let unknown = names.filter { knownColours[$0.lowercased()] == nil }
        return palette[(unknown.firstIndex(of: name) ?? 0) % palette.count]
    }

    static func escape(_ text: String) -> String {
        var result = ""
        for character in text {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&#39;"
            default: result.append(character)
            }
        }
        return result
    }

    /// Percent-encodes a relative path for a URL (keeps `/`).
    static func percentEncoded(_ path: String) -> String {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "?#;")
        return path.addingPercentEncoding(withAllowedCharacters: allowed) ?? path
    }
}
