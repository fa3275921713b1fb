"""A local Mosquitto broker on a free loopback port, with a config file of its own (tests and benchmarks).

Debian's ``mosquitto`` package is used as it is (``/usr/sbin/mosquitto``);
nothing is downloaded. The config is the one the twin needs from any broker
(docs/sensors.md, "Broker settings"): persistence to disk, so the twin's
QoS 1 session and the messages queued for it survive a broker restart;
unlimited in-flight and queued QoS 1 messages per client (the defaults, 20
in flight and 1,000 queued, would throttle a batching consumer and drop
messages queued while the twin is down); persistent sessions that never
expire. :meth:`Mosquitto.restart` stops the broker cleanly (it writes its
persistence file) and starts it again on the same port.
"""

from __future__ import annotations

import getpass
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
# Campus Twin broker settings (written by sensors/broker.py; see docs/sensors.md, "Broker settings")
listener {port} 127.0.0.1
allow_anonymous true
# run as whoever started it (as root, mosquitto would switch to a user that cannot write the persistence folder)
user {user}
# the twin's session (clean_session false) and its queued QoS 1 messages survive a restart
persistence true
persistence_location {folder}/
autosave_interval {autosave}
persistent_client_expiration 30d
# no per-client limits: a batching consumer takes thousands in flight; nothing queued for it is dropped
max_inflight_messages 0
max_queued_messages 0
max_queued_bytes 0
log_dest stderr
log_type error
log_type warning
"""
AUTOSAVE_S = 10
"""Seconds between the broker's saves of its persistence file (Mosquitto's default is 1,800). A clean stop always
saves; a broker killed outright loses what arrived since the last save (docs/sensors.md)."""


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
    binary: str

    @property
    def url(self) -> str:
        """``mqtt://127.0.0.1:PORT``."""
        return f"mqtt://127.0.0.1:{self.port}"

    def halt(self) -> None:
        """Stop the broker cleanly (SIGTERM: it saves its persistence file), keeping its folder."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def restart(self, *, timeout: float = 10.0) -> None:
        """Stop cleanly and start again on the same port with the same config and persistence file."""
        self.halt()
        end = time.monotonic() + timeout
        while True:
            self.process = _launch(self.binary, self.folder)
            if _wait_up(self.process, self.port, end):
                return
            if time.monotonic() >= end:
                msg = f"mosquitto did not restart on port {self.port}: {_log(self.folder)}"
                raise RuntimeError(msg)
            time.sleep(0.2)  # the port may still be held by the old process's socket

    def stop(self) -> None:
        """Stop the broker and remove its folder."""
        self.halt()
        shutil.rmtree(self.folder, ignore_errors=True)


def start_mosquitto(binary: str | None = None, *, timeout: float = 10.0, listeners: str = "") -> Mosquitto:
    """Start mosquitto on a free loopback port with its own config; wait until it accepts connections.

    ``listeners`` is more config, appended after the main listener (e.g. a TLS
    listener with its own ``allow_anonymous`` and ``password_file``); with it,
    ``per_listener_settings`` is on, so the main listener stays anonymous.

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
        conf = CONFIG.format(port=port, folder=folder, autosave=AUTOSAVE_S, user=getpass.getuser())
        (folder / "mosquitto.conf").write_text(f"per_listener_settings true\n{conf}{listeners}" if listeners else conf)
        proc = _launch(exe, folder)
        if _wait_up(proc, port, time.monotonic() + timeout):
            return Mosquitto(port, proc, folder, exe)
    log = _log(folder)
    shutil.rmtree(folder, ignore_errors=True)
    msg = f"mosquitto did not start: {log}"
    raise RuntimeError(msg)


def _launch(exe: str, folder: Path) -> subprocess.Popen:
    with (folder / "mosquitto.log").open("ab") as log:
        return subprocess.Popen([exe, "-c", str(folder / "mosquitto.conf")], stdout=subprocess.DEVNULL, stderr=log)


def _wait_up(proc: subprocess.Popen, port: int, end: float) -> bool:
    """Wait until ``proc`` accepts connections on ``port`` (True), or dies or runs out of time (False, and it is stopped)."""
    while time.monotonic() < end and proc.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.05)
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    return False


def _log(folder: Path) -> str:
    p = folder / "mosquitto.log"
    return p.read_text(errors="replace").strip()[-500:] if p.exists() else ""
