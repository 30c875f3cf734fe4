import Common
import EmotionCore
import Foundation
import JSONIO
import Neural

/// One candidate track on the review page, with the path the preferences file names it by.
public struct ReviewCandidate: Sendable {
    /// Relative to the review folder, e.g. "candidates/line_007/c3.json".
    public var path: String
    /// How it was made ("mean", "temperature:0.5", ...), shown to nobody: people must not
    /// know which candidate is the model's own, so the page labels sides A and B only.
    public var kind: String
    public var track: EmotionTrack

    public init(path: String, kind: String, track: EmotionTrack) {
        self.path = path
        self.kind = kind
        self.track = track
    }
}

/// A clip to review: its audio and its candidates.
public struct ReviewClip: Sendable {
    public var identifier: String
    /// The audio as the page loads it: a path relative to the review folder
    /// ("audio/line_007.wav") or a data: URI when embedded.
    public var audio: String
    /// The clip's name in the preferences file (a path relative to the review folder).
    public var audioPath: String
    public var duration: Double
    public var candidates: [ReviewCandidate]

    public init(identifier: String, audio: String, audioPath: String, duration: Double, candidates: [ReviewCandidate]) {
        self.identifier = identifier
        self.audio = audio
        self.audioPath = audioPath
        self.duration = duration
        self.candidates = candidates
    }
}

/// Two candidates of one clip, in the order the page shows them (A left, B right).
public struct ReviewPair: Sendable, Equatable {
    public var identifier: String
    public var clip: Int
    public var left: Int
    public var right: Int

    public init(identifier: String, clip: Int, left: Int, right: Int) {
        self.identifier = identifier
        self.clip = clip
        self.left = left
        self.right = right
    }

    /// `perClip` pairs of each clip's candidates (all pairs when nil or larger), drawn and
    /// shown left/right in a seeded random order so that neither side favours the model.
    public static func draw(clips: [ReviewClip], perClip: Int?, seed: UInt64) -> [ReviewPair] {
        var random = SeededRandom(seed: seed)
        var result: [ReviewPair] = []
        for (clipIndex, clip) in clips.enumerated() {
            var all: [(Int, Int)] = []
            for i in 0..<clip.candidates.count { for j in (i + 1)..<clip.candidates.count { all.append((i, j)) } }
            random.shuffle(&all)
            let chosen = all.prefix(perClip.map { max(0, $0) } ?? all.count).sorted { $0 < $1 }
            for (i, j) in chosen {
                let swap = random.uniform() < 0.5
                result.append(
                    ReviewPair(identifier: "\(clip.identifier)/\(i)-\(j)", clip: clipIndex, left: swap ? j : i, right: swap ? i : j))
            }
        }
        return result
    }
}

/// The review page: one self-contained HTML file (inline CSS and JavaScript, no network)
/// where a person listens to each clip and picks the better of two candidate animations.
///
/// For each pair the page shows the audio player and, side by side, candidates A and B: a
/// face drawn from the current mixture (brows, eyes and mouth move with the emotions) and
/// the mixture curves as stacked bands, with a cursor that follows playback. "A is better"
/// / "B is better" (keys 1 and 2, or A and B) record the choice; choices survive a reload
/// (localStorage). "Export preferences" downloads `preferences.jsonl`, one line per choice in
/// the `Preference` format, with paths relative to the review folder. Served by
/// `emobake review serve`, every choice is also sent to the server as it is made.
public enum ReviewPage {
    public static let preferencesFileName = "preferences.jsonl"

    /// Colours of the emotions (the rest of the palette cycles for other names).
    static let colours: [String: String] = [
        "neutral": "#9aa0a6", "calm": "#80cbc4", "happy": "#f4c430", "sad": "#3d6fd6", "angry": "#d93b3b", "fear": "#8e4ec6",
        "disgust": "#3f9b3f", "surprise": "#f08a24", "contempt": "#8d6e63",
    ]
    static let palette = ["#26a69a", "#ec407a", "#7e57c2", "#5c6bc0", "#9ccc65", "#ffa726"]

    /// The data the page script reads: emotions, colours, clips (audio, duration), each
    /// candidate's times and mixtures (4 decimals), and the pairs.
    public static func data(title: String, emotions: [String], clips: [ReviewClip], pairs: [ReviewPair]) -> JSONValue {
        var paletteIndex = 0
        let emotionColours: [JSONValue] = emotions.map { name in
            if let colour = colours[name] { return .string(colour) }
            defer { paletteIndex += 1 }
            return .string(palette[paletteIndex % palette.count])
        }
        let clipValues: [JSONValue] = clips.map { clip in
            .object(
                JSONObject([
                    ("id", .string(clip.identifier)),
                    ("audio", .string(clip.audio)),
                    ("audioPath", .string(clip.audioPath)),
                    ("duration", .decimal(clip.duration, places: 3)),
                    (
                        "candidates",
                        .array(
                            clip.candidates.map { candidate in
                                let order = emotions.map { candidate.track.index(of: $0) ?? -1 }
                                let mixtures = candidate.track.mixtures
                                let k = candidate.track.emotionCount
                                return .object(
                                    JSONObject([
                                        ("path", .string(candidate.path)),
                                        ("times", .array(candidate.track.times.map { .decimal($0, places: 4) })),
                                        (
                                            "mixture",
                                            .array(
                                                (0..<candidate.track.frameCount).map { frame in
                                                    .array(order.map { $0 < 0 ? .integer(0) : .decimal(mixtures[frame * k + $0], places: 4) })
                                                })
                                        ),
                                    ]))
                            })
                    ),
                ]))
        }
        let pairValues: [JSONValue] = pairs.map { pair in
            .object(
                JSONObject([
                    ("id", .string(pair.identifier)), ("clip", .integer(Int64(pair.clip))), ("left", .integer(Int64(pair.left))),
                    ("right", .integer(Int64(pair.right))),
                ]))
        }
        return .object(
            JSONObject([
                ("format", "emobake-review"), ("version", 1), ("title", .string(title)),
                ("emotions", .array(emotions.map { .string($0) })), ("colours", .array(emotionColours)),
                ("clips", .array(clipValues)), ("pairs", .array(pairValues)),
            ]))
    }

    /// The whole page. Deterministic: the same inputs give the same bytes.
    public static func html(title: String, emotions: [String], clips: [ReviewClip], pairs: [ReviewPair]) throws -> String {
        let json = try JSONCodec.serialize(data(title: title, emotions: emotions, clips: clips, pairs: pairs), style: .compact)
        // Inside <script>, "</" could close the element: JSON allows "<\/" for it.
        let embedded = json.trimmingCharacters(in: .newlines).replacingOccurrences(of: "</", with: "<\\/")
        return """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(escape(title))</title>
            <style>\(style)</style>
            </head>
            <body>
            <header>
            <h1>\(escape(title))</h1>
            <p class="help">Play each clip and watch both faces. Choose the one whose emotion follows the voice better: click, or press <kbd>1</kbd>/<kbd>A</kbd> for A and <kbd>2</kbd>/<kbd>B</kbd> for B. <kbd>Space</kbd> plays and pauses, <kbd>N</kbd> goes to the next pair. When you are done, enter your name and export.</p>
            <div class="bar">
            <label>Your name <input id="annotator" type="text" autocomplete="name" placeholder="name or initials"></label>
            <span id="progress" class="progress"></span>
            <button id="export" type="button">Export preferences</button>
            <span id="status" class="status" role="status"></span>
            </div>
            </header>
            <main id="pairs"></main>
            <script type="application/json" id="review-data">\(embedded)</script>
            <script>\(script)</script>
            </body>
            </html>

            """
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    static let style = """
        body{font:15px/1.4 system-ui,sans-serif;margin:0;background:#f6f6f4;color:#222}
        header{position:sticky;top:0;background:#fff;border-bottom:1px solid #ddd;padding:8px 16px;z-index:2}
        h1{font-size:20px;margin:4px 0}
        .help{margin:4px 0;color:#555}
        .bar{display:flex;gap:12px;align-items:center;flex-wrap:wrap}
        .progress{font-weight:600}
        .status{color:#a33}
        main{padding:12px 16px}
        section.pair{background:#fff;border:1px solid #ddd;border-radius:6px;margin:0 0 14px;padding:10px 12px}
        section.pair.current{border-color:#3d6fd6;box-shadow:0 0 0 2px #3d6fd633}
        section.pair.done{opacity:.8}
        section.pair h2{font-size:16px;margin:0 0 6px}
        audio{width:100%;margin:4px 0 8px}
        .sides{display:grid;grid-template-columns:1fr 1fr;gap:12px}
        .side{border:2px solid transparent;border-radius:6px;padding:6px}
        .side.chosen{border-color:#3f9b3f;background:#f1f8f1}
        .side h3{margin:0 0 4px;font-size:15px}
        .side .views{display:flex;gap:8px;align-items:flex-start}
        canvas.face{width:120px;height:120px;flex:none}
        canvas.curves{width:100%;height:120px;min-width:0;flex:1}
        button.choose{margin-top:6px;width:100%;padding:6px;font-size:15px;cursor:pointer}
        .legend{display:flex;flex-wrap:wrap;gap:10px;font-size:13px;margin:6px 0 0}
        .legend i{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:middle}
        kbd{border:1px solid #bbb;border-radius:3px;padding:0 4px;background:#fafafa}
        """

    /// The page's behaviour. Reads #review-data; no network except POSTs to its own server.
    static let script = """
        "use strict";
        (function () {
          const data = JSON.parse(document.getElementById("review-data").textContent);
          // Choices are kept per review: the key hashes the pairs and their candidates.
          const identity = data.pairs.map(function (p) {
            const c = data.clips[p.clip]; return p.id + ">" + c.candidates[p.left].path + "|" + c.candidates[p.right].path;
          }).join("\\n");
          let hash = 5381;
          for (let i = 0; i < identity.length; i++) hash = ((hash * 33) ^ identity.charCodeAt(i)) >>> 0;
          const storageKey = "emobake-review:" + hash.toString(16);
          let choices = {};
          try { choices = JSON.parse(localStorage.getItem(storageKey) || "{}") || {}; } catch (e) { choices = {}; }
          const served = location.protocol === "http:" || location.protocol === "https:";
          const main = document.getElementById("pairs");
          const annotator = document.getElementById("annotator");
          const status = document.getElementById("status");
          const progress = document.getElementById("progress");
          annotator.value = localStorage.getItem("emobake-review-annotator") || "";
          annotator.addEventListener("input", function () { localStorage.setItem("emobake-review-annotator", annotator.value); });
          let current = 0;
          const views = [];

          function mixtureAt(candidate, time) {
            const t = candidate.times, m = candidate.mixture, n = t.length;
            if (n === 1 || time <= t[0]) return m[0];
            if (time >= t[n - 1]) return m[n - 1];
            let lo = 0, hi = n - 1;
            while (hi - lo > 1) { const mid = (lo + hi) >> 1; if (t[mid] <= time) lo = mid; else hi = mid; }
            const w = (time - t[lo]) / (t[hi] - t[lo]);
            return m[lo].map(function (v, i) { return (1 - w) * v + w * m[hi][i]; });
          }

          function weight(mixture, name) {
            const i = data.emotions.indexOf(name);
            return i < 0 ? 0 : mixture[i];
          }

          // A face from the mixture: brows, eyes and mouth follow the basic emotions.
          function drawFace(canvas, mixture) {
            const g = canvas.getContext("2d"), s = canvas.width / 120;
            const happy = weight(mixture, "happy"), sad = weight(mixture, "sad"), angry = weight(mixture, "angry");
            const fear = weight(mixture, "fear"), disgust = weight(mixture, "disgust"), surprise = weight(mixture, "surprise");
            g.setTransform(s, 0, 0, s, 0, 0);
            g.clearRect(0, 0, 120, 120);
            g.fillStyle = "#f3d2b3"; g.strokeStyle = "#5a4030"; g.lineWidth = 2.5; g.lineCap = "round";
            g.beginPath(); g.ellipse(60, 62, 46, 54, 0, 0, 2 * Math.PI); g.fill(); g.stroke();
            const eyeOpen = Math.max(0.25, 1 + 0.8 * surprise + 0.6 * fear - 0.4 * happy - 0.4 * disgust - 0.3 * angry);
            const browLift = 8 * surprise + 5 * fear + 2 * sad - 6 * angry;
            const browInner = 7 * sad + 4 * fear - 7 * angry;
            [[42, 1], [78, -1]].forEach(function (e) {
              const x = e[0], side = e[1];
              g.fillStyle = "#fff"; g.beginPath(); g.ellipse(x, 52, 8, 6 * eyeOpen, 0, 0, 2 * Math.PI); g.fill(); g.stroke();
              g.fillStyle = "#3b2a20"; g.beginPath(); g.arc(x, 52, 2.8, 0, 2 * Math.PI); g.fill();
              g.beginPath(); g.moveTo(x - 10 * side, 38 - browLift); g.lineTo(x + 9 * side, 38 - browLift - browInner); g.stroke();
            });
            const smile = 16 * happy - 12 * sad - 6 * fear - 8 * disgust - 5 * angry;
            const open = 14 * surprise + 8 * fear + 3 * angry;
            const skew = 6 * disgust;
            g.beginPath();
            g.moveTo(42, 88 - skew); g.quadraticCurveTo(60, 88 + smile, 78, 88 + skew);
            if (open > 1) { g.quadraticCurveTo(60, 88 + smile + open * 1.6, 42, 88 - skew); g.fillStyle = "#7a2e2e"; g.fill(); }
            g.stroke();
          }

          // Stacked mixture bands over the clip, and the playback cursor.
          function drawCurves(canvas, candidate, duration, time) {
            const g = canvas.getContext("2d"), w = canvas.width, h = canvas.height;
            g.clearRect(0, 0, w, h);
            const t = candidate.times, m = candidate.mixture, span = Math.max(duration, t[t.length - 1], 1e-3);
            let below = t.map(function () { return 0; });
            data.emotions.forEach(function (name, k) {
              const above = below.map(function (v, i) { return v + m[i][k]; });
              g.beginPath();
              t.forEach(function (time, i) { const x = time / span * w, y = h - above[i] * h; if (i === 0) g.moveTo(x, y); else g.lineTo(x, y); });
              for (let i = t.length - 1; i >= 0; i--) g.lineTo(t[i] / span * w, h - below[i] * h);
              g.closePath(); g.fillStyle = data.colours[k]; g.fill();
              below = above;
            });
            const x = Math.min(w - 1, Math.max(0, time / span * w));
            g.strokeStyle = "#000"; g.lineWidth = 2; g.beginPath(); g.moveTo(x, 0); g.lineTo(x, h); g.stroke();
            canvas.dataset.cursor = (time / span).toFixed(4);
          }

          function render(view) {
            const time = view.audio.currentTime || 0;
            view.sides.forEach(function (side) {
              drawFace(side.face, mixtureAt(side.candidate, time));
              drawCurves(side.curves, side.candidate, view.clip.duration, time);
            });
          }

          function countDone() { return data.pairs.filter(function (p) { return choices[p.id] !== undefined; }).length; }

          function update() {
            progress.textContent = countDone() + " of " + data.pairs.length + " pairs chosen";
            views.forEach(function (view, index) {
              const chosen = choices[view.pair.id];
              view.section.classList.toggle("done", chosen !== undefined);
              view.section.classList.toggle("current", index === current);
              view.sides.forEach(function (side, s) { side.box.classList.toggle("chosen", chosen === s); });
            });
          }

          function line(pair, side) {
            const clip = data.clips[pair.clip];
            return JSON.stringify({
              pair: pair.id, clip: clip.audioPath,
              candidates: [clip.candidates[pair.left].path, clip.candidates[pair.right].path],
              chosen: side, annotator: annotator.value.trim()
            });
          }

          function choose(index, side) {
            const view = views[index];
            choices[view.pair.id] = side;
            localStorage.setItem(storageKey, JSON.stringify(choices));
            current = Math.min(views.length - 1, index + 1);
            update();
            if (served && annotator.value.trim()) {
              fetch("choices", { method: "POST", headers: { "Content-Type": "application/x-ndjson" }, body: line(view.pair, side) + "\\n" })
                .then(function (r) { status.textContent = r.ok ? "" : "the server did not save the choice (" + r.status + ")"; })
                .catch(function () { status.textContent = "the server is not answering; export when done"; });
            }
          }

          data.pairs.forEach(function (pair, index) {
            const clip = data.clips[pair.clip];
            const section = document.createElement("section");
            section.className = "pair"; section.id = "pair-" + index; section.dataset.pair = pair.id;
            const heading = document.createElement("h2");
            heading.textContent = "Pair " + (index + 1) + " of " + data.pairs.length + ": " + clip.id;
            const audio = document.createElement("audio");
            audio.controls = true; audio.preload = "metadata"; audio.src = clip.audio;
            const sides = document.createElement("div"); sides.className = "sides";
            const view = { pair: pair, clip: clip, section: section, audio: audio, sides: [] };
            [pair.left, pair.right].forEach(function (candidateIndex, s) {
              const box = document.createElement("div"); box.className = "side"; box.dataset.side = s ? "B" : "A";
              const title = document.createElement("h3"); title.textContent = s ? "B" : "A";
              const row = document.createElement("div"); row.className = "views";
              const face = document.createElement("canvas"); face.className = "face"; face.width = 240; face.height = 240;
              const curves = document.createElement("canvas"); curves.className = "curves"; curves.width = 600; curves.height = 240;
              row.appendChild(face); row.appendChild(curves);
              const button = document.createElement("button"); button.type = "button"; button.className = "choose";
              button.textContent = (s ? "B" : "A") + " is better";
              button.addEventListener("click", function () { current = index; choose(index, s); });
              box.appendChild(title); box.appendChild(row); box.appendChild(button); sides.appendChild(box);
              view.sides.push({ box: box, face: face, curves: curves, candidate: clip.candidates[candidateIndex] });
            });
            const legend = document.createElement("div"); legend.className = "legend";
            data.emotions.forEach(function (name, k) {
              const item = document.createElement("span"); const swatch = document.createElement("i");
              swatch.style.background = data.colours[k]; item.appendChild(swatch); item.appendChild(document.createTextNode(name));
              legend.appendChild(item);
            });
            section.appendChild(heading); section.appendChild(audio); section.appendChild(sides); section.appendChild(legend);
            main.appendChild(section);
            ["timeupdate", "seeked", "loadedmetadata", "pause", "ended"].forEach(function (e) { audio.addEventListener(e, function () { render(view); }); });
            audio.addEventListener("play", function () {
              current = index; update();
              views.forEach(function (other) { if (other !== view) other.audio.pause(); });
              (function tick() { render(view); if (!audio.paused && !audio.ended) requestAnimationFrame(tick); })();
            });
            views.push(view);
            render(view);
          });

          document.addEventListener("keydown", function (event) {
            if (event.target === annotator || views.length === 0) return;
            const key = event.key.toLowerCase();
            if (key === "1" || key === "a") { choose(current, 0); views[current].section.scrollIntoView({ block: "center" }); }
            else if (key === "2" || key === "b") { choose(current, 1); views[current].section.scrollIntoView({ block: "center" }); }
            else if (key === "n") { current = Math.min(views.length - 1, current + 1); update(); views[current].section.scrollIntoView({ block: "center" }); }
            else if (key === " ") { event.preventDefault(); const a = views[current].audio; if (a.paused) a.play(); else a.pause(); }
          });

          document.getElementById("export").addEventListener("click", function () {
            const name = annotator.value.trim();
            if (!name) { status.textContent = "enter your name first: the preferences file records who chose"; annotator.focus(); return; }
            const lines = data.pairs.filter(function (p) { return choices[p.id] !== undefined; })
              .map(function (p) { return line(p, choices[p.id]) + "\\n"; });
            if (lines.length === 0) { status.textContent = "nothing chosen yet"; return; }
            const blob = new Blob([lines.join("")], { type: "application/x-ndjson" });
            const link = document.createElement("a");
            link.href = URL.createObjectURL(blob); link.download = "\(preferencesFileName)";
            document.body.appendChild(link); link.click(); link.remove();
            status.textContent = "exported " + lines.length + " choices to \(preferencesFileName)";
          });

          window.emobakeReview = { choices: function () { return Object.assign({}, choices); }, render: function () { views.forEach(render); } };
          update();
        })();
        """
}
