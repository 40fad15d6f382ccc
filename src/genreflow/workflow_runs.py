"""Runs of the workflow in one folder: which one holds Snakemake's lock, and stale locks.

Snakemake writes ``.snakemake/locks/*.lock`` when a run starts and deletes them when
it ends. A run killed with SIGKILL, by the out-of-memory killer or by a reboot leaves
them behind, and every later run then stops with ``LockException`` until someone runs
``snakemake --unlock``, which would as readily unlock a folder a live run is using.
Snakemake's lock files do not say which process wrote them, so every run of
genreflow's Snakefile records itself here (:func:`start_run`, before Snakemake locks):
a later run releases the locks only when every recorded run is gone, and names the
live one otherwise. Snakemake itself still refuses a run whose files overlap a live
run's.
"""

from __future__ import annotations

import atexit
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from genreflow.processes import ProcessId

RUNS_DIR = Path(".snakemake/genreflow/runs")
LOCKS_DIR = Path(".snakemake/locks")


@dataclass(frozen=True)
class RunRecord:
    """One run of the workflow: its main process, start time and command line."""

    process: ProcessId
    started: str
    command: str

    @classmethod
    def read(cls, path: Path) -> RunRecord | None:
        """The record in ``path``, or None when it is gone or unreadable."""
        try:
            data = json.loads(path.read_text())
            return cls(ProcessId.parse(data["process"]), data["started"], data["command"])
        except (OSError, ValueError, KeyError):
            return None

    def describe(self) -> str:
        where = "" if self.process.on_this_machine else f" on {self.process.host}"
        return f"pid {self.process.pid}{where}, started {self.started}: {self.command}"


def start_run(workdir: Path, argv: Sequence[str]) -> str | None:
    """Record this process as a run in ``workdir``; release the locks of dead runs.

    Returns the line to show on the console, or None when there is nothing to say.
    The record is removed when this process exits normally; a killed run's record
    stays, and the next run recognises it as dead. A folder this process cannot write
    records nothing (Snakemake then says what it cannot do).
    """
    runs = workdir / RUNS_DIR
    me = ProcessId.of()
    mine = runs / f"{me.host}-{me.pid}-{me.start_ticks or 0}.json"
    record = {
        "process": str(me),
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "command": " ".join(argv),
    }
    # the locks first: a run that starts after this listing records itself before it
    # locks, so it is seen alive below and its locks are never taken for a dead run's
    locks = sorted((workdir / LOCKS_DIR).glob("*.lock"))
    try:
        runs.mkdir(parents=True, exist_ok=True)
        # rename into place by hand: genreflow.atomic imports pandas, which the plan's
        # parse must not load
        tmp = mine.with_suffix(".tmp")
        tmp.write_text(json.dumps(record) + "\n")
        tmp.replace(mine)
    except OSError:
        return None
    atexit.register(mine.unlink, missing_ok=True)

    live, dead = [], {}
    for path in sorted(runs.glob("*.json")):
        other = RunRecord.read(path) if path != mine else None
        if other is not None and other.process.alive():
            live.append(other)
        elif other is not None:
            dead[path] = other
    if live and locks:
        return (
            "genreflow: another run of this workflow is working in this folder "
            f"({live[0].describe()}); Snakemake refuses a run whose files overlap it: "
            f"wait for it to finish or stop it (kill {live[0].process.pid}); do not "
            "--unlock while it runs"
        )
    # no live run: every lock is a dead run's, and a dead record owns nothing any more
    for path in [*dead, *(locks if dead else [])]:
        _remove(path)
    if not locks:
        return None
    if dead:
        return (
            "genreflow: released the lock left by a run that was stopped before it could "
            f"release it ({list(dead.values())[-1].describe()}); the jobs it left "
            "unfinished run again"
        )
    return (
        f"genreflow: {LOCKS_DIR} holds a lock that no recorded run owns (left by a "
        "Snakemake run of another version of this workflow?); if no other snakemake runs "
        "in this folder, run `snakemake --unlock` once"
    )


def _remove(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass  # another user's file: left to its owner
