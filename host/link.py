"""One API over serial devices, pyserial URLs (socket:// for QEMU) and the x86 emulator's pty.

Exactly one reader per port: every byte the device sends goes through one Link object.
"""
from __future__ import annotations

import errno
import os
import subprocess
import time
from pathlib import Path

import serial

DEFAULT_BAUD = 921600


class LinkError(Exception):
    """The port cannot be used; the message says why and what to do."""


def _open_error(port: str, e: Exception) -> LinkError:
    code = getattr(e, "errno", None)
    text = str(e)
    if code == errno.ENOENT or "No such file" in text or "could not open port" in text and \
            "[Errno 2]" in text:
        return LinkError(f"{port}: no such port. Is the board plugged in? Nucleo boards appear as "
                         f"/dev/ttyACM*: `ls /dev/ttyACM*`")
    if code == errno.EACCES or "Permission denied" in text or "[Errno 13]" in text:
        return LinkError(f"{port}: permission denied. Join the dialout group "
                         f"(`sudo usermod -aG dialout $USER`, then log in again)")
    if "Connection refused" in text or "[Errno 111]" in text:
        return LinkError(f"{port}: connection refused: is QEMU (or the server) running?")
    return LinkError(f"{port}: cannot open ({text})")


class Link:
    def __init__(self, port: serial.SerialBase, name: str):
        self._port = port
        self.name = name

    @classmethod
    def open(cls, port: str, baud: int = DEFAULT_BAUD, connect_timeout: float = 5.0) -> "Link":
        """Open a port. A socket:// server that refuses is retried for `connect_timeout`
        seconds: QEMU opens its serial server a moment after it starts."""
        deadline = time.monotonic() + connect_timeout
        while True:
            try:
                s = serial.serial_for_url(port, baudrate=baud, timeout=0.05, write_timeout=10)
                return cls(s, port)
            except (serial.SerialException, OSError, ValueError) as e:
                err = _open_error(port, e)
                if "connection refused" not in str(err) or time.monotonic() > deadline:
                    raise err from None
                time.sleep(0.1)

    def send(self, data: bytes) -> None:
        try:
            self._port.write(data)
            self._port.flush()
        except (serial.SerialException, OSError) as e:
            raise LinkError(f"{self.name}: write failed ({e}); was the board unplugged?") from None

    def read(self) -> bytes:
        """What has arrived, waiting at most the port's short timeout; b'' if nothing."""
        try:
            waiting = max(1, self._port.in_waiting)
            return self._port.read(waiting)
        except (serial.SerialException, OSError) as e:
            raise LinkError(f"{self.name}: read failed ({e}); was the board unplugged?") from None

    def drain(self, quiet: float = 0.1) -> bytes:
        """Read until the line has been quiet for `quiet` seconds (used to skip boot noise)."""
        got, last = b"", time.monotonic()
        while time.monotonic() - last < quiet:
            chunk = self.read()
            if chunk:
                got += chunk
                last = time.monotonic()
        return got

    def close(self) -> None:
        self._port.close()


class Emulator:
    """The x86 firmware build as a child process serving its UART on a pty."""

    def __init__(self, binary: Path, extra_args: tuple[str, ...] = ()):
        binary = Path(binary)
        if not binary.exists():
            raise LinkError(f"{binary}: emulator not built; run `make -C firmware BOARD=emu "
                            f"MACHINE=<machine>`")
        self.proc = subprocess.Popen([str(binary), *extra_args], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().strip()
        if not line.startswith("/dev/"):
            err = self.proc.stderr.read() if self.proc.poll() is not None else ""
            self.close()
            raise LinkError(f"{binary}: emulator did not start ({line or err.strip()})")
        self.pty = line

    def link(self) -> Link:
        return Link.open(self.pty)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def port_kind(port: str) -> str:
    """Short name of a port for report folders: emu, socket, or the device's base name."""
    if port == "emu":
        return "emu"
    if "://" in port:
        return port.split("://", 1)[0]
    return os.path.basename(port)
