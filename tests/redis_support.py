"""A throwaway redis-server for tests that stop or freeze Redis (the machine's shared Redis is never touched).

`PrivateRedis(tmp_path).start()` runs `redis-server` on a free port of 127.0.0.1 without persistence; `stop()`,
`pause()` (SIGSTOP: connections are accepted by the kernel but never answered) and `resume()` drive it.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import time

import redis


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PrivateRedis:
    """A throwaway redis-server on 127.0.0.1:<free port>, without persistence."""

    def __init__(self, tmp_path) -> None:
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.dir = tmp_path
        self.process: subprocess.Popen | None = None
        self.paused = False

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis(port=self.port, socket_timeout=1)
        deadline = time.monotonic() + 15
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                assert self.process.poll() is None, "redis-server exited"
                assert time.monotonic() < deadline, "redis-server did not answer within 15 s"
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.resume()
            self.process.terminate()
            self.process.wait(timeout=10)

    def pause(self) -> None:
        self.process.send_signal(signal.SIGSTOP)
        self.paused = True

    def resume(self) -> None:
        if self.paused:
            self.process.send_signal(signal.SIGCONT)
            self.paused = False
