"""A job stops when the workflow process that started it is gone.

Snakemake runs each local job as a child process. When the ``snakemake`` process is
killed (SIGKILL, an out-of-memory kill, a closed SSH session), its jobs would run on
as orphans and race the jobs of the next run. The Snakefile's main process puts its
own :class:`~genreflow.processes.ProcessId` in ``GENREFLOW_WORKFLOW_PROCESS``; every
job inherits it and, at start (``scripts/_bootstrap.py``), calls :func:`watch_workflow`,
which waits on that process in a daemon thread. When it exits the job's main thread
gets SIGTERM, which :func:`stop_on_sigterm` turns into ``SystemExit`` (SIGHUP too):
atomic writers then remove their temporary files, nothing is renamed into place, and
the job exits within ``grace_s`` seconds at the latest. Python runs signal handlers only
in the main thread, and a signal wakes only the thread the kernel hands it to: the
watchdog therefore signals the main thread itself, and blocks the stop signals in its
own thread, so that a ``kill`` from outside (SLURM, the user) is never handed to a thread
that sleeps until the workflow ends. A signal that lands just before the main thread
enters a blocking call (``time.sleep`` checks for handlers only after it is
interrupted; the watchdog often gets the GIL exactly there) runs its handler only when
that call returns: the watchdog therefore repeats the signal until the handler has run,
and the handler acts once, so a repeat never cuts the cleanup short.

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
import time

from genreflow.processes import ProcessId

WORKFLOW_PROCESS_ENV = "GENREFLOW_WORKFLOW_PROCESS"


STOPPING = threading.Event()
"""Set when a stop signal's handler has run: the job is on its way out."""


def stop_on_sigterm() -> None:
    """Turn SIGTERM and SIGHUP (a closed terminal) into ``SystemExit``, so ``finally``
    blocks and atomic writers run before the job ends. Only the first stop signal acts:
    later ones do not interrupt the cleanup the first one started."""

    def _exit(signum, frame):
        if STOPPING.is_set():
            return
        STOPPING.set()
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


STOP_SIGNALS = {signal.SIGTERM, signal.SIGHUP, signal.SIGINT}
REPEAT_S = 0.2
"""How often the watchdog repeats SIGTERM until the main thread's handler has run."""


def _stop_after(workflow: ProcessId, grace_s: float) -> None:
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)  # this thread: never theirs
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
    # directed at the main thread: a process-wide one may be handed to another thread (a
    # torch worker) and leave a main thread asleep in a system call until the grace ends;
    # repeated, as one that lands just before a blocking call wakes nothing
    deadline = time.monotonic() + grace_s
    main = threading.main_thread().ident
    while not STOPPING.is_set() and time.monotonic() < deadline:
        signal.pthread_kill(main, signal.SIGTERM)
        STOPPING.wait(REPEAT_S)
    time.sleep(max(0.0, deadline - time.monotonic()))
    os._exit(1)
