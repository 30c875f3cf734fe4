#!/usr/bin/env python3
"""Drives an EmoBake review page in headless Chromium, as a person would, and reports what
happened as JSON on standard output.

Talks to Chromium over the DevTools protocol on a pipe (--remote-debugging-pipe: commands on
fd 3, replies on fd 4, NUL-separated JSON), so it needs nothing beyond Python's standard
library. Steps: load the page; seek the first clip's audio and read where the curves' cursor
went; press Export before a name is entered (must refuse); type the name; click the A/B
buttons of the pairs in order with real mouse events; optionally press Export and wait for
the download.

usage: drive_review_page.py URL DOWNLOAD_DIR --name NAME --choose A,B,... [--export] [--seek SECONDS]
"""
import argparse
import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time


class Browser:
    def __init__(self, binary):
        self.profile = tempfile.mkdtemp(prefix="emobake-chromium-")
        to_browser_r, self.to_browser = os.pipe()
        self.from_browser, from_browser_w = os.pipe()

        def wire():
            # Move both ends above 9 first: a pipe end may already be fd 3 or 4, and
            # dup2 onto itself would keep its close-on-exec flag.
            high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (to_browser_r, from_browser_w)]
            os.dup2(high[0], 3, inheritable=True)
            os.dup2(high[1], 4, inheritable=True)

        self.process = subprocess.Popen(
            [binary, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
             "--autoplay-policy=no-user-gesture-required", "--user-data-dir=" + self.profile, "about:blank"],
            preexec_fn=wire, close_fds=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self.buffer = b""
        self.next_id = 0
        self.events = []

    def send(self, method, params=None, session=None):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.to_browser, json.dumps(message).encode() + b"\0")
        while True:
            reply = self.receive()
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def receive(self, timeout=30):
        deadline = time.time() + timeout
        while b"\0" not in self.buffer:
            if time.time() > deadline:
                raise TimeoutError("Chromium did not answer")
            chunk = os.read(self.from_browser, 65536)
            if not chunk:
                raise RuntimeError("Chromium closed the pipe")
            self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)

    def wait_event(self, method, timeout=30, match=lambda e: True):
        deadline = time.time() + timeout
        while True:
            for index, event in enumerate(self.events):
                if event.get("method") == method and match(event):
                    return self.events.pop(index)
            if time.time() > deadline:
                raise TimeoutError(f"no {method} event")
            self.events.append(self.receive(timeout=max(0.1, deadline - time.time())))

    def close(self):
        try:
            self.send("Browser.close")
        except Exception:
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.profile, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("downloads")
    parser.add_argument("--name", required=True)
    parser.add_argument("--choose", required=True)
    parser.add_argument("--export", action="store_true")
    parser.add_argument("--seek", type=float, default=0.75)
    parser.add_argument("--browser", default=shutil.which("chromium-headless-shell") or shutil.which("chromium") or "chromium")
    args = parser.parse_args()
    report = {}
    browser = Browser(args.browser)
    try:
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        browser.send("Browser.setDownloadBehavior",
                     {"behavior": "allowAndName", "downloadPath": os.path.abspath(args.downloads), "eventsEnabled": True})
        browser.send("Page.enable", session=session)
        browser.send("Page.navigate", {"url": args.url}, session=session)
        browser.wait_event("Page.loadEventFired")

        def evaluate(expression, await_promise=False):
            result = browser.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                       "awaitPromise": await_promise}, session=session)
            if "exceptionDetails" in result:
                raise RuntimeError(f"page script failed: {result['exceptionDetails']}")
            return result["result"].get("value")

        def click(selector):
            box = evaluate(f"""(() => {{ const e = document.querySelector({json.dumps(selector)});
                e.scrollIntoView({{block: "center"}}); const r = e.getBoundingClientRect();
                return [r.left + r.width / 2, r.top + r.height / 2]; }})()""")
            for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
                browser.send("Input.dispatchMouseEvent", {"type": kind, "x": box[0], "y": box[1], "button": "left",
                                                          "clickCount": 1}, session=session)

        report["pairs"] = evaluate("document.querySelectorAll('section.pair').length")
        report["progressBefore"] = evaluate("document.getElementById('progress').textContent")
        report["duration"] = evaluate("""new Promise(done => { const a = document.querySelector('#pair-0 audio');
            if (a.readyState >= 1) done(a.duration); else a.addEventListener('loadedmetadata', () => done(a.duration)); })""", True)
        report["cursor"] = evaluate(f"""new Promise(done => {{ const a = document.querySelector('#pair-0 audio');
            a.addEventListener('seeked', () => setTimeout(() => done(
                Array.from(document.querySelectorAll('#pair-0 canvas.curves')).map(c => c.dataset.cursor)), 50), {{once: true}});
            a.currentTime = {args.seek}; }})""", True)
        # The face is drawn from the mixture at the cursor: its pixels must differ between A and B
        # or between two times when the candidates differ.
        report["faceSignature"] = evaluate("""Array.from(document.querySelectorAll('#pair-0 canvas.face')).map(c => {
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let s = 0;
            for (let i = 0; i < d.length; i += 4) s = (s * 31 + d[i] + 7 * d[i + 1] + 13 * d[i + 2]) % 1000000007; return s; })""")
        click("#export")
        report["statusWithoutName"] = evaluate("document.getElementById('status').textContent")
        evaluate("document.getElementById('annotator').focus()")
        browser.send("Input.insertText", {"text": args.name}, session=session)
        for index, side in enumerate(args.choose.split(",")):
            if side:
                click(f"#pair-{index} .side[data-side={side}] button.choose")
        report["chosenSides"] = evaluate("""Array.from(document.querySelectorAll('section.pair')).map(s => {
            const c = s.querySelector('.side.chosen'); return c ? c.dataset.side : ''; })""")
        report["progressAfter"] = evaluate("document.getElementById('progress').textContent")
        if args.export:
            click("#export")
            begin = browser.wait_event("Browser.downloadWillBegin")
            browser.wait_event("Browser.downloadProgress", match=lambda e: e["params"].get("state") == "completed")
            path = os.path.join(args.downloads, begin["params"]["guid"])
            report["download"] = {"suggestedFilename": begin["params"]["suggestedFilename"], "path": path}
            with open(path, encoding="utf-8") as handle:
                report["contents"] = handle.read()
            report["statusAfterExport"] = evaluate("document.getElementById('status').textContent")
        else:
            time.sleep(0.5)  # let the page's POSTs reach the server
    finally:
        browser.close()
    json.dump(report, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
