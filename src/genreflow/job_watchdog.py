"""A job stops when the workflow process that started it is gone.

Snakemake runs each local job as a child process. When the ``snakemake`` process is
killed (SIGKILL, an out-of-memory kill, a closed SSH session), its jobs would run on
as orphans and race the jobs of the next run. The Snakefile's main process puts its
own :class:`~genreflow.processes.ProcessId` in ``GENREFLOW_WORKFLOW_PROCESS``; every
job inherits it and, at start (``scripts/_bootstrap.py``), calls :func:`watch_workflow`,
which waits on that process in a daemon thread. When it exits the job gets SIGTERM,
which :func:`stop_on_sigterm` turns into ``SystemExit`` (SIGHUP too): atomic writers
then remove their temporary files, nothing is renamed into place, and the job exits
within ``grace_s`` seconds at the latest.

A parent-death signal (``prctl(PR_SET_PDEATHSIG)``) cannot do this: Snakemake starts
jobs from a worker thread through a shell, and that signal follows the thread and
the shell, not the workflow process. Cluster jobs (Snakemake's remote mode) do not
inherit the variable: there the executor's own cancellation applies.
"""

from __future__ import annotations

import os
import signal
import sys
import threading

from genreflow.processes import ProcessId

WORKFLOW_PROCESS_ENV = "GENREFLOW_WORKFLOW_PROCESS"


def stop_on_sigterm() -> None:
    """Turn SIGTERM and SIGHUP (a closed terminal) into ``SystemExit``, so ``finally``
    blocks and atomic writers run before the job ends."""

    def _exit(signum, frame):
        raise SystemExit(f"genreflow: job stopped by signal {signal.Signals(signum).name}")

    signal.signal(signal.SIGTERM, _exit)
    if signal.getsignal(signal.SIGHUP) is not signal.SIG_IGN:  # nohup keeps jobs alive
        signal.signal(signal.SIGHUP, _exit)


def watch_workflow(grace_s: float = 10.0) -> threading.Thread | None:
    """Stop this process when the workflow process named in the environment exits.

    Returns the watching thread, or None when no workflow on this machine is named.
    """
    named = os.environ.get(WORKFLOW_PROCESS_ENV)
    if not named:
        return None
    workflow = ProcessId.parse(named)
    if not workflow.on_this_machine:
        return None
    thread = threading.Thread(
        target=_stop_after, args=(workflow, grace_s), name="genreflow-watchdog", daemon=True
    )
    thread.start()
    return thread


def _stop_after(workflow: ProcessId, grace_s: float) -> None:
    workflow.wait()
    try:  # the terminal may be gone with the workflow (a closed SSH session)
        print(
            f"genreflow: the workflow process (pid {workflow.pid}) is gone; this job stops "
            "and keeps no output (the next run of the workflow redoes it)",
            file=sys.stderr,
            flush=True,
        )
    except (OSError, ValueError):
        pass
    os.kill(os.getpid(), signal.SIGTERM)
    threading.Event().wait(grace_s)
    os._exit(1)
