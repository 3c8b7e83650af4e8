"""A real monitor process for the dashboard tests and benches.

``python -m app`` is started as a subprocess, exactly as an operator starts
it (real gunicorn server, real ZeroMQ collector, real broadcaster), with a
settings file in a temp directory.  It can be stopped and started again on
the same ports, which is how the reconnect test restarts the server.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]


class MonitorProcess:
    """``python -m app`` on free ports; publish to ``zmq``, browse ``url``."""

    def __init__(
        self,
        tmp: Path,
        *,
        stale_after_s: float = 10.0,
        push_interval_ms: int = 60,
        send_buffer_kb: int = 256,
        refresh_s: float = 1.0,
        extra_yaml: str = "",
        extra_args: tuple[str, ...] = (),
        connect_to: str | None = None,
    ) -> None:
        """``connect_to``: a bot's bound endpoint to connect to (``mode: connect``) instead of binding."""
        self.port, self.zmq_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.zmq = f"tcp://127.0.0.1:{self.zmq_port}"
        self.config = tmp / "settings.yaml"
        self.config.write_text(
            f"collector:\n  stale_after_s: {stale_after_s}\n"
            + (f"  endpoints: [{{url: '{connect_to}', mode: connect}}]\n" if connect_to else "")
            + f"dashboard:\n  push_interval_ms: {push_interval_ms}\n  ws_send_buffer_kb: {send_buffer_kb}\n"
            f"  refresh_s: {refresh_s}\n"
            f"storage:\n  data_dir: {tmp / 'data'}\n"
            "logging:\n  level: WARNING\n" + extra_yaml,
            encoding="utf-8",
        )
        self.log = tmp / "monitor.log"
        self.extra_args = extra_args
        self.connect_to = connect_to
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 30.0) -> MonitorProcess:
        cmd = [
            sys.executable,
            "-m",
            "app",
            "--config",
            str(self.config),
            "--port",
            str(self.port),
            *(() if self.connect_to else ("--zmq", f"tcp://127.0.0.1:{self.zmq_port}")),
            *self.extra_args,
        ]
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"monitor exited with {self.proc.returncode}:\n{self.log.read_text()}")
            try:
                with urllib.request.urlopen(self.url + "/api/health", timeout=1):
                    return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"monitor did not start within {timeout}s:\n{self.log.read_text()}")

    def pause(self) -> None:
        """SIGSTOP: the process hangs with every socket open, as a stuck or swapped-out server does."""
        assert self.proc is not None and self.proc.poll() is None, "the monitor is not running"
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT after :meth:`pause`."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGCONT)

    def kill(self) -> int:
        """SIGKILL, as a crash or an OOM kill ends it: nothing flushed, nothing closed."""
        assert self.proc is not None and self.proc.poll() is None, "the monitor is not running"
        self.proc.send_signal(signal.SIGKILL)
        return self.proc.wait(10)

    def stop(self, timeout: float = 10.0, sig: signal.Signals = signal.SIGTERM) -> int | None:
        """A graceful stop by ``sig`` (SIGTERM as a service manager sends it); the exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            raise RuntimeError(f"monitor ignored {sig.name} for {timeout}s") from None
