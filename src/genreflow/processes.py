"""Which process is which: an identity that survives PID reuse and reboots.

A PID alone names a different process after the first one exits and the number is
reused, or after a reboot. :class:`ProcessId` adds the host, the kernel's boot id
and the process's start time (``/proc/<pid>/stat``, in clock ticks since boot), so
:meth:`ProcessId.alive` is true only for the very process it was taken from. Off
Linux (no ``/proc``) the start time and boot id are empty and only the PID is checked.
"""

from __future__ import annotations

import os
import select
import socket
import time
from dataclasses import dataclass
from pathlib import Path

_BOOT_ID = Path("/proc/sys/kernel/random/boot_id")


def pid_alive(pid: int) -> bool:
    """Whether a process with this PID exists on this host (any owner)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stat_fields(pid: int) -> list[str]:
    """``/proc/<pid>/stat`` after the command name (state first), or [] where unreadable."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return []
    # the command name (field 2) may hold spaces and parentheses: split after its ")"
    return stat.rsplit(")", 1)[1].split()


def _start_ticks(pid: int) -> str:
    """The process's start time after boot in clock ticks, or "" where unknown."""
    fields = _stat_fields(pid)
    return fields[19] if fields else ""


def _boot_id() -> str:
    try:
        return _BOOT_ID.read_text().strip()
    except OSError:
        return ""


@dataclass(frozen=True)
class ProcessId:
    """One process: host, boot, PID and start time."""

    host: str
    boot_id: str
    pid: int
    start_ticks: str

    @classmethod
    def of(cls, pid: int | None = None) -> ProcessId:
        """The identity of process ``pid`` (default: this process) on this host."""
        pid = os.getpid() if pid is None else pid
        return cls(socket.gethostname(), _boot_id(), pid, _start_ticks(pid))

    @classmethod
    def parse(cls, text: str) -> ProcessId:
        """The inverse of :meth:`__str__`."""
        host, boot_id, pid, start_ticks = text.rsplit(":", 3)
        return cls(host, boot_id, int(pid), start_ticks)

    def __str__(self) -> str:
        return f"{self.host}:{self.boot_id}:{self.pid}:{self.start_ticks}"

    @property
    def on_this_machine(self) -> bool:
        """Whether this process ran on this host since its last boot (else unknowable)."""
        return self.host == socket.gethostname() and self.boot_id == _boot_id()

    def alive(self) -> bool:
        """Whether this very process still runs. A zombie (exited, not yet reaped) is
        gone; where its start time cannot be read (another host, /proc hidden) a
        process that may be it is assumed alive."""
        if self.host != socket.gethostname():
            return True
        if self.boot_id != _boot_id():
            return False
        if not pid_alive(self.pid):
            return False
        fields = _stat_fields(self.pid)
        if not fields or not self.start_ticks:
            return True
        return fields[0] not in ("Z", "X") and fields[19] == self.start_ticks

    def wait(self, poll_s: float = 1.0) -> None:
        """Block until this process has exited (at once if it already has).

        Linux's pidfd wakes the caller the moment the process exits; elsewhere the
        process is polled every ``poll_s`` seconds.
        """
        try:
            fd = os.pidfd_open(self.pid)
        except (AttributeError, OSError):
            fd = None
        try:
            if not self.alive():  # checked after opening: the pidfd is the same process
                return
            if fd is not None:
                select.select([fd], [], [])
                return
            while self.alive():
                time.sleep(poll_s)
        finally:
            if fd is not None:
                os.close(fd)
