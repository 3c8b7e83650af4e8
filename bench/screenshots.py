"""Start the monitor with its demo bots and save a PNG of each dashboard tab.

    .venv/bin/python bench/screenshots.py [--seconds 20] [--out docs]

Writes docs/dashboard-trading.png, docs/dashboard-risk.png,
docs/dashboard-health.png, docs/dashboard-alerts.png (headless Chromium, 1400x1000).  The demo runs
for ``--seconds`` first so the tables and charts have something to show.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.chromium import chrome_options  # noqa: E402
from tests.support.ports import free_port  # noqa: E402

TABS = ("Trading", "Risk", "Health", "Alerts")


def start_demo(port: int, zmq_port: int, data_dir: str) -> subprocess.Popen:
    cfg = Path(data_dir) / "settings.yaml"
    # the shipped settings (so the Alerts tab shows the shipped rules), with a private data dir
    shipped = (ROOT / "settings.yaml").read_text(encoding="utf-8")
    cfg.write_text(shipped.replace("  data_dir: ./data ", f"  data_dir: {data_dir} "), encoding="utf-8")
    cmd = [
        sys.executable,
        "-m",
        "app",
        "--demo",
        "--config",
        str(cfg),
        "--port",
        str(port),
        "--zmq",
        f"tcp://127.0.0.1:{zmq_port}",
    ]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=1):
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the demo monitor did not start")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--out", default=str(ROOT / "docs"))
    args = ap.parse_args()
    from selenium import webdriver
    from selenium.webdriver.common.by import By

    port, zmq_port = free_port(), free_port()
    with tempfile.TemporaryDirectory() as tmp:
        proc = start_demo(port, zmq_port, tmp)
        print("monitor up; starting chromium", flush=True)
        driver = webdriver.Chrome(options=chrome_options())
        print("chromium up", flush=True)
        try:
            time.sleep(args.seconds)
            print("loading page", flush=True)
            driver.set_page_load_timeout(30)
            driver.get(f"http://127.0.0.1:{port}/")
            print("page loaded", flush=True)
            time.sleep(4)
            for tab in TABS:
                print("tab", tab, flush=True)
                driver.find_element(By.XPATH, f"//a[normalize-space()='{tab}']").click()
                time.sleep(2)
                path = Path(args.out) / f"dashboard-{tab.lower()}.png"
                driver.save_screenshot(str(path))
                print("saved", path)
        finally:
            driver.quit()
            proc.send_signal(signal.SIGTERM)
            proc.wait(15)


if __name__ == "__main__":
    main()
