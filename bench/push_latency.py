"""Push latency of the live dashboard: publish -> shown in the page, and fan-out cost.

    .venv/bin/python bench/push_latency.py [--seconds 5] [--rates 10,100,1000] [--clients 20]

Part 1 (browser): a publisher *process* sends ``account`` events at a fixed
rate; event i carries equity 1,000,000 + i, so the equity shown in the status
bar says exactly which events a frame covered.  A MutationObserver in one
headless Chromium page records when each value appears.  Latency of event i
= first time a value >= i is on screen - publish time of i; so the oldest
event of every frame counts with its full wait.  Also frames/s.

Part 2 (fan-out, no browsers: 2 cores cannot host 20 Chromiums): 20 plain
WebSocket clients on the same view at 1,000 events/s, spread over 4 client
processes (so the measuring side's own GIL doesn't inflate what it measures);
the same per-event latency is measured at each client (frame received), the
slowest client's p99 is reported, with the monitor process's CPU (% of one
core, which includes ingesting the 1,000 events/s).

The monitor is a real ``python -m app`` (gunicorn, ZeroMQ collector).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import statistics
import sys
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.chromium import chrome_options  # noqa: E402
from tests.support.monitor_process import MonitorProcess  # noqa: E402

BASE = 1_000_000
BOT = "bench"

OBSERVER_JS = """
window.__shown = [];
var last = null;
function grab() {
  var e = document.querySelector('#stat-0 .stat-value');
  var t = e ? e.textContent : null;
  if (t && t !== last) { last = t; window.__shown.push([performance.timeOrigin + performance.now(), t]); }
}
new MutationObserver(grab).observe(document.getElementById('status-bar'),
  {subtree: true, childList: true, characterData: true});
"""


def publish(endpoint: str, rate: float, seconds: float, go: mp.Event, out: mp.Queue) -> None:
    """Publisher process: event i at t0 + i/rate (busy-waits the last ms for accuracy)."""
    from collectors.publisher import BotPublisher

    n = int(rate * seconds)
    times = [0.0] * n
    with BotPublisher(BOT, endpoint) as pub:
        pub.account(BASE - 1.0)
        while not go.wait(0.5):
            pub.heartbeat()
        t0 = time.time() + 0.2
        for i in range(n):
            target = t0 + i / rate
            while (d := target - time.time()) > 0:
                time.sleep(d - 0.001 if d > 0.002 else 0)
            times[i] = time.time()
            pub.account(BASE + float(i))
        time.sleep(0.5)
    out.put(times)


def latencies(publish_times: list[float], shown: list[tuple[float, int]]) -> list[float]:
    """Per event: first time the page/client showed a value >= its index, minus publish time.

    What was on screen before the first publish (e.g. a previous run's last value) is ignored.
    """
    out, j = [], 0
    shown = sorted(s for s in shown if publish_times and s[0] >= publish_times[0])
    for i, t_pub in enumerate(publish_times):
        while j < len(shown) and shown[j][1] < i:
            j += 1
        if j == len(shown):
            break
        out.append((shown[j][0] - t_pub) * 1000)
    return out


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q / 100 * len(xs)))] if xs else float("nan")


def summary(name: str, lat: list[float], n: int, frames_per_s: float, extra: str = "") -> str:
    return (
        f"{name:<28} events={n:>6} shown={len(lat):>6} p50={pct(lat, 50):7.1f} ms "
        f"p95={pct(lat, 95):7.1f} ms p99={pct(lat, 99):7.1f} ms max={max(lat, default=0):7.1f} ms "
        f"frames/s={frames_per_s:5.1f} {extra}"
    )


def run_publisher(mon: MonitorProcess, rate: float, seconds: float) -> tuple[mp.Process, mp.Queue, mp.Event]:
    """Start the publisher; it sends one event, then waits for ``go`` to start the timed run."""
    ctx = mp.get_context("spawn")
    q: mp.Queue = ctx.Queue()
    go = ctx.Event()
    p = ctx.Process(target=publish, args=(mon.zmq, rate, seconds, go, q), daemon=True)
    p.start()
    return p, q, go


def browser_part(mon: MonitorProcess, rates: list[float], seconds: float) -> None:
    from selenium import webdriver

    driver = webdriver.Chrome(options=chrome_options())
    try:
        for rate in rates:
            proc, q, go = run_publisher(mon, rate, seconds)
            time.sleep(1.5)  # the bot exists once its first event is in
            driver.get(f"{mon.url}/")
            time.sleep(2.5)  # page start-up (Plotly bundle) is not push latency
            driver.execute_script(
                "window.dash_clientside.set_props('bot-select', {value: arguments[0]});", BOT
            )
            time.sleep(1.0)
            driver.execute_script(OBSERVER_JS)
            frames0 = driver.execute_script("return window.__monitor.frames")
            go.set()
            times = q.get(timeout=seconds + 30)
            proc.join(10)
            time.sleep(0.5)
            shown = [
                (t / 1000, round(float(v.replace(",", "")) - BASE))
                for t, v in driver.execute_script("return window.__shown")
            ]
            frames = driver.execute_script("return window.__monitor.frames") - frames0
            resyncs = driver.execute_script("return window.__monitor.resyncs")
            span = times[-1] - times[0] if len(times) > 1 else 1.0
            lat = latencies(times, shown)
            print(
                summary(
                    f"browser @ {rate:g} ev/s",
                    lat,
                    len(times),
                    frames / span,
                    f"(screen updates {len(shown)}, resyncs {resyncs})",
                ),
                flush=True,
            )
            for entry in driver.get_log("browser"):
                print("   console:", entry.get("level"), str(entry.get("message"))[:300])
    finally:
        driver.quit()


def _client_thread(url: str, stop, received: list, counts: list, k: int) -> None:
    import websocket

    ws = websocket.create_connection(url, timeout=2)
    while not stop.is_set():
        try:
            raw = ws.recv()
        except websocket.WebSocketTimeoutException:
            continue
        t = time.time()
        counts[k] += 1
        status = json.loads(raw)["s"].get("status")
        if status and status["items"]:
            received[k].append((t, round(float(status["items"][0][1].replace(",", "")) - BASE)))
    ws.close()


def client_process(url: str, n: int, stop: mp.Event, out: mp.Queue) -> None:
    """n WebSocket clients in one process; the clients are spread over processes so
    that the measuring side's own GIL does not add to the latency it measures."""
    received: list[list[tuple[float, int]]] = [[] for _ in range(n)]
    counts = [0] * n
    threads = [
        threading.Thread(target=_client_thread, args=(url, stop, received, counts, k), daemon=True)
        for k in range(n)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.put([(counts[k], received[k]) for k in range(n)])


def fanout_part(mon: MonitorProcess, clients: int, rate: float, seconds: float, procs: int = 4) -> None:
    url = mon.url.replace("http://", "ws://") + f"/ws?bot={BOT}"
    proc, q, go = run_publisher(mon, rate, seconds)
    time.sleep(1.5)  # the publisher's reset value is in before the clients' first snapshot
    ctx = mp.get_context("spawn")
    stop, out = ctx.Event(), ctx.Queue()
    sizes = [clients // procs + (1 if i < clients % procs else 0) for i in range(procs)]
    workers = [ctx.Process(target=client_process, args=(url, n, stop, out), daemon=True) for n in sizes if n]
    for w in workers:
        w.start()
    server = psutil.Process(mon.proc.pid)
    time.sleep(3.0)  # clients connected and through their first full snapshot
    go.set()
    cpu0, w0 = server.cpu_times(), time.monotonic()
    times = q.get(timeout=seconds + 30)
    cpu1, w1 = server.cpu_times(), time.monotonic()
    proc.join(10)
    time.sleep(0.5)
    stop.set()
    results = [r for _ in workers for r in out.get(timeout=30)]
    for w in workers:
        w.join(5)
    cpu = ((cpu1.user + cpu1.system) - (cpu0.user + cpu0.system)) / (w1 - w0) * 100
    per_client = [latencies(times, r) for _, r in results]
    worst = max(range(len(results)), key=lambda k: pct(per_client[k], 99))
    span = times[-1] - times[0]
    print(
        summary(
            f"{clients} ws clients @ {rate:g} ev/s",
            per_client[worst],
            len(times),
            results[worst][0] / span,
            f"(slowest client; server CPU {cpu:.0f}% of one core; clients in {len(workers)} processes)",
        ),
        flush=True,
    )
    p99s = [pct(x, 99) for x in per_client]
    print(f"{'':<28} p99 across clients: median {statistics.median(p99s):.1f} ms, max {max(p99s):.1f} ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--rates", default="10,100,1000")
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--skip-browser", action="store_true")
    ap.add_argument("--push-interval-ms", type=int, default=60, help="dashboard.push_interval_ms (50..100)")
    args = ap.parse_args()
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        mon = MonitorProcess(Path(tmp), stale_after_s=30.0, push_interval_ms=args.push_interval_ms).start()
        try:
            print(
                f"monitor pid {mon.proc.pid} on {mon.url}, push_interval_ms={args.push_interval_ms}, "
                f"cores={psutil.cpu_count()}"
            )
            if not args.skip_browser:
                browser_part(mon, [float(r) for r in args.rates.split(",")], args.seconds)
            fanout_part(mon, args.clients, 1000.0, args.seconds)
        finally:
            mon.stop()


if __name__ == "__main__":
    main()
