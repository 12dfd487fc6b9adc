#!/usr/bin/env python3
"""Takes docs/dashboard.png: the dashboard of `orch demo --dashboard` while a PM message waits.

    python3 docs/dashboard-screenshot.py [path/to/orch]

Needs chromium and chromedriver (Debian: chromium, chromium-driver). Drives them over the
W3C WebDriver protocol with the standard library only.
"""
import base64, json, os, re, socket, subprocess, sys, tempfile, time, urllib.request

ORCH = sys.argv[1] if len(sys.argv) > 1 else "target/release/orch"
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dashboard.png")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(url, body=None, method=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method or ("POST" if data else "GET"),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.load(r)["value"]


def main():
    port = free_port()
    demo = subprocess.Popen([ORCH, "demo", "--dashboard", "--dashboard-port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    url = None
    for line in demo.stdout:
        m = re.search(r"(http://\S+#token=\S+)", line)
        if m:
            url = m.group(1)
            break
    # The demo escalates one task within seconds; its "human" waits 30 s before answering.
    time.sleep(7)
    drv_port = free_port()
    driver = subprocess.Popen(["chromedriver", f"--port={drv_port}"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{drv_port}"
    try:
        for _ in range(100):
            try:
                call(f"{base}/status")
                break
            except Exception:
                time.sleep(0.1)
        profile = tempfile.mkdtemp()
        args = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--window-size=1400,1500", "--hide-scrollbars", f"--user-data-dir={profile}"]
        caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome",
                                                 "goog:chromeOptions": {"args": args}}}}
        session = call(f"{base}/session", caps)["sessionId"]
        s = f"{base}/session/{session}"
        call(f"{s}/url", {"url": url})
        time.sleep(2.5)
        el = call(f"{s}/element", {"using": "css selector", "value": 'tr[data-task="TASK-TF-003"]'})
        call(f"{s}/element/{list(el.values())[0]}/click", {})
        time.sleep(1.5)
        png = call(f"{s}/screenshot")
        with open(OUT, "wb") as f:
            f.write(base64.b64decode(png))
        call(s, method="DELETE")
        print(f"wrote {OUT}")
    finally:
        driver.kill()
        demo.kill()


if __name__ == "__main__":
    main()
