"""A local Mosquitto broker on a free loopback port, with a config file of its own (tests and benchmarks).

Debian's ``mosquitto`` package is used as it is (``/usr/sbin/mosquitto``);
nothing is downloaded. The config raises the broker's defaults the twin
relies on: unlimited in-flight and queued QoS 1 messages per client (the
defaults, 20 in flight and 1,000 queued, would throttle a batching consumer
and drop messages queued for a persistent session while the twin is down).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

MOSQUITTO_PATHS = ("/usr/sbin/mosquitto", "/usr/bin/mosquitto")
INSTALL = "apt-get install -y mosquitto"
"""The exact command that installs the broker."""

CONFIG = """\
# Campus Twin test broker (written by sensors/broker.py)
listener {port} 127.0.0.1
allow_anonymous true
persistence false
max_inflight_messages 0
max_queued_messages 0
log_dest stderr
log_type error
log_type warning
"""


def mosquitto_binary() -> str | None:
    """The mosquitto executable, or ``None`` when it is not installed."""
    for p in MOSQUITTO_PATHS:
        if Path(p).is_file():
            return p
    return shutil.which("mosquitto")


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Mosquitto:
    """A running broker: ``url`` is ``mqtt://127.0.0.1:PORT``."""

    port: int
    process: subprocess.Popen
    folder: Path

    @property
    def url(self) -> str:
        """``mqtt://127.0.0.1:PORT``."""
        return f"mqtt://127.0.0.1:{self.port}"

    def stop(self) -> None:
        """Stop the broker and remove its folder."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


def start_mosquitto(binary: str | None = None, *, timeout: float = 10.0) -> Mosquitto:
    """Start mosquitto on a free loopback port with its own config; wait until it accepts connections.

    Raises
    ------
    FileNotFoundError
        When mosquitto is not installed (the message says how to install it).
    RuntimeError
        When it does not start.
    """
    exe = binary or mosquitto_binary()
    if exe is None:
        msg = f"mosquitto missing: run `{INSTALL}`"
        raise FileNotFoundError(msg)
    folder = Path(tempfile.mkdtemp(prefix="twin-mosquitto-"))
    for _ in range(5):
        port = free_port()
        conf = folder / "mosquitto.conf"
        conf.write_text(CONFIG.format(port=port))
        with (folder / "mosquitto.log").open("ab") as log:
            proc = subprocess.Popen([exe, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=log)
        end = time.monotonic() + timeout
        while time.monotonic() < end and proc.poll() is None:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    return Mosquitto(port, proc, folder)
            except OSError:
                time.sleep(0.05)
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    log = (folder / "mosquitto.log").read_text() if (folder / "mosquitto.log").exists() else ""
    shutil.rmtree(folder, ignore_errors=True)
    msg = f"mosquitto did not start: {log.strip()[-500:]}"
    raise RuntimeError(msg)
