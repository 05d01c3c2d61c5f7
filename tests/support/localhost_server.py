"""A second app server on ``http://localhost:<port>`` for browser passkey tests, on the same emulators and data.

WebAuthn needs a domain name as the RP ID (Chromium refuses IP addresses), while the test session's public URL is
``http://127.0.0.1:<port>``. ``chalicelib.config`` is read once per process, so this server runs in a subprocess
that inherits the emulator endpoints and differs only in ``GATEHOUSE_PUBLIC_URL``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

from infra.local.emulators import free_port, port_answers

REPO_ROOT = Path(__file__).resolve().parents[2]
START_SECONDS = 60


class LocalhostServer:
    def __init__(self, log_path: Path) -> None:
        self.port = free_port()
        self.base_url = f"http://localhost:{self.port}"
        self._log_path = log_path
        self._log: IO[bytes] | None = None
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> LocalhostServer:
        env = {**os.environ, "GATEHOUSE_PUBLIC_URL": self.base_url}
        self._log = self._log_path.open("wb")
        self._process = subprocess.Popen(
            [sys.executable, "-m", "tests.support.localhost_server", str(self.port)],
            cwd=REPO_ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + START_SECONDS
        while not port_answers(self.port):
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"localhost server did not start: {self._log_path.read_text()[-2000:]}")
            time.sleep(0.2)
        return self

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)
        if self._log is not None:
            self._log.close()


if __name__ == "__main__":
    from infra.local.serve import create_server

    create_server(int(sys.argv[1])).serve_forever()
