"""Interrupted runs: process identity, stale locks, jobs that outlive their workflow,
temporary files of killed writers, and a full disk while writing."""

import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from genreflow.atomic import atomic_directory, atomic_path, write_text
from genreflow.errors import DiskFullError
from genreflow.job_watchdog import WORKFLOW_PROCESS_ENV
from genreflow.logs import script_logging
from genreflow.processes import ProcessId
from genreflow.workflow_runs import LOCKS_DIR, RUNS_DIR, start_run

from conftest import PROJECT_ROOT


@pytest.fixture
def sleeper():
    """A process that runs until the test stops it."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield process
    process.kill()
    process.wait()


def _finished_process() -> ProcessId:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    alive = ProcessId.of(process.pid)
    process.wait()
    return alive


# --- process identity ---------------------------------------------------------------


def test_a_process_id_survives_text_and_tells_a_live_process_from_a_gone_one(sleeper):
    me = ProcessId.of()
    assert ProcessId.parse(str(me)) == me and me.alive() and me.on_this_machine
    running = ProcessId.of(sleeper.pid)
    assert running.alive()
    assert not _finished_process().alive()
    # the same PID with another start time is another process (a reused PID)
    reused = ProcessId(running.host, running.boot_id, running.pid, "1")
    assert not reused.alive()
    # after a reboot nothing recorded before it runs; another host cannot be checked
    assert not ProcessId(me.host, "another-boot", me.pid, me.start_ticks).alive()
    assert ProcessId("elsewhere", "x", 1, "1").alive()


def test_waiting_on_a_process_returns_when_it_exits(sleeper):
    started = time.monotonic()
    _finished_process().wait()  # gone already: at once
    subprocess.Popen(["kill", str(sleeper.pid)]).wait()
    ProcessId.of(sleeper.pid).wait()  # the pidfd wakes as the process exits
    assert time.monotonic() - started < 60  # not the sleeper's own 120 s: a loaded CI has room


# --- stale locks --------------------------------------------------------------------


def _locks(workdir: Path) -> list[Path]:
    (workdir / LOCKS_DIR).mkdir(parents=True, exist_ok=True)
    locks = [workdir / LOCKS_DIR / "0.input.lock", workdir / LOCKS_DIR / "0.output.lock"]
    for lock in locks:
        lock.write_text("results/x.csv\n")
    return locks


def _record(workdir: Path, process: ProcessId) -> None:
    runs = workdir / RUNS_DIR
    runs.mkdir(parents=True, exist_ok=True)
    record = {"process": str(process), "started": "2026-12-06 10:00:00", "command": "snakemake"}
    (runs / f"{process.pid}.json").write_text(json.dumps(record))


def test_a_run_records_itself_and_says_nothing_in_a_free_folder(tmp_path):
    assert start_run(tmp_path, ["snakemake", "--cores", "2"]) is None
    (record,) = (tmp_path / RUNS_DIR).glob("*.json")
    assert json.loads(record.read_text())["process"] == str(ProcessId.of())


def test_the_lock_of_a_killed_run_is_released_and_its_record_dropped(tmp_path):
    dead = _finished_process()
    _record(tmp_path, dead)
    locks = _locks(tmp_path)
    said = start_run(tmp_path, ["snakemake", "--cores", "2"])
    assert "released the lock left by a run that was stopped" in said
    assert f"pid {dead.pid}" in said and "run again" in said
    assert not any(lock.exists() for lock in locks)
    assert not (tmp_path / RUNS_DIR / f"{dead.pid}.json").exists()


def test_the_lock_of_a_live_run_is_kept_and_the_run_named(tmp_path, sleeper):
    live = ProcessId.of(sleeper.pid)
    _record(tmp_path, live)
    dead = _finished_process()
    _record(tmp_path, dead)  # its locks may be among them: its record stays until released
    locks = _locks(tmp_path)
    said = start_run(tmp_path, ["snakemake"])
    assert f"another run of this workflow is working in this folder (pid {live.pid}" in said
    assert f"kill {live.pid}" in said
    assert all(lock.exists() for lock in locks)
    assert (tmp_path / RUNS_DIR / f"{dead.pid}.json").exists()
    sleeper.kill()  # the live run ends: a zombie until reaped, which counts as gone
    os.waitid(os.P_PID, sleeper.pid, os.WEXITED | os.WNOWAIT)  # exited, not reaped
    said = start_run(tmp_path, ["snakemake"])
    assert "released the lock" in said and not any(lock.exists() for lock in locks)


def test_a_lock_that_no_recorded_run_owns_is_kept_with_the_unlock_command(tmp_path):
    locks = _locks(tmp_path)
    said = start_run(tmp_path, ["snakemake"])
    assert "no recorded run owns" in said and "snakemake --unlock" in said
    assert all(lock.exists() for lock in locks)


def test_a_run_on_another_host_is_assumed_alive(tmp_path):
    _record(tmp_path, ProcessId("login2", "x", 4321, "99"))
    locks = _locks(tmp_path)
    said = start_run(tmp_path, ["snakemake"])
    assert "pid 4321 on login2" in said and all(lock.exists() for lock in locks)


# --- jobs whose workflow is gone ----------------------------------------------------

JOB = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, {scripts!r})
    import _bootstrap  # noqa: F401  (what every Snakemake script imports first)
    {prepare}
    from genreflow.atomic import atomic_path
    with atomic_path({dest!r}) as tmp:
        tmp.write_text("half")
        print("writing", flush=True)
        for _ in range(1200):  # 120 s, in steps: a signal handled just before a step's
            time.sleep(0.1)  # sleep began waits one step, not the whole (see the watchdog)
    """
)


# The first SIGTERM's handler runs but does nothing, as when the signal lands just before
# the main thread enters a blocking call: its handler then waits for that call to return.
LOSE_THE_FIRST_SIGTERM = (
    "import signal; stop = signal.getsignal(signal.SIGTERM); "
    "signal.signal(signal.SIGTERM, lambda *_: signal.signal(signal.SIGTERM, stop))"
)


def _job(dest: Path, workflow: ProcessId | None, prepare: str = "") -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != WORKFLOW_PROCESS_ENV}
    if workflow is not None:
        env[WORKFLOW_PROCESS_ENV] = str(workflow)
    code = JOB.format(scripts=str(PROJECT_ROOT / "scripts"), dest=str(dest), prepare=prepare)
    job = subprocess.Popen(
        [sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert job.stdout.readline() == b"writing\n"
    return job


@pytest.mark.parametrize("first_sigterm", ["handled", "lost"])
def test_a_job_stops_promptly_when_its_workflow_dies_and_keeps_no_output(
    tmp_path, sleeper, first_sigterm
):
    dest = tmp_path / "out" / "model.pt"
    prepare = LOSE_THE_FIRST_SIGTERM if first_sigterm == "lost" else ""
    job = _job(dest, ProcessId.of(sleeper.pid), prepare)
    sleeper.kill()
    _, stderr = job.communicate(timeout=60)
    assert job.returncode != 0
    assert f"the workflow process (pid {sleeper.pid}) is gone" in stderr.decode()
    # through SystemExit in the main thread, not the watchdog's os._exit after its grace
    assert "job stopped by signal SIGTERM" in stderr.decode()
    assert not dest.exists() and not list(dest.parent.iterdir())  # no temporary file


def _blocked_signals(pid: int, tid: int) -> int:
    """The signal mask of thread ``tid`` of process ``pid`` (bit n-1 for signal n)."""
    status = Path(f"/proc/{pid}/task/{tid}/status").read_text()
    return int(
        next(line for line in status.splitlines() if line.startswith("SigBlk:")).split()[1], 16
    )


def test_a_kill_from_outside_reaches_the_main_thread_past_the_watchdog(tmp_path, sleeper):
    dest = tmp_path / "model.pt"
    job = _job(dest, ProcessId.of(sleeper.pid))  # its workflow still runs
    threads = sorted(int(t) for t in os.listdir(f"/proc/{job.pid}/task"))
    term = 1 << (signal.SIGTERM - 1)
    blocking = [t for t in threads if _blocked_signals(job.pid, t) & term]
    assert len(blocking) == 1 and blocking[0] != job.pid  # the watchdog, not the main thread
    job.terminate()  # as SLURM or a user's kill: to the process, not a thread
    _, stderr = job.communicate(timeout=60)
    assert "job stopped by signal SIGTERM" in stderr.decode()
    assert not list(tmp_path.iterdir()) and sleeper.poll() is None


def test_only_the_first_stop_signal_acts_so_a_repeat_cannot_cut_the_cleanup_short():
    code = textwrap.dedent(
        """
        import signal
        from genreflow.job_watchdog import stop_on_sigterm
        stop_on_sigterm()
        try:
            signal.raise_signal(signal.SIGTERM)
        except SystemExit as stop:
            signal.raise_signal(signal.SIGTERM)  # as the watchdog's repeat, or a user's
            signal.raise_signal(signal.SIGHUP)
            print("cleaned up after:", stop)
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "cleaned up after: genreflow: job stopped by signal SIGTERM\n"


def test_a_job_without_a_workflow_on_this_machine_is_left_alone(tmp_path):
    other = ProcessId("elsewhere", "x", 1, "1")  # e.g. the submit host of a cluster job
    job = _job(tmp_path / "a.txt", other)
    time.sleep(1)
    assert job.poll() is None
    job.terminate()  # SIGTERM: the job ends through SystemExit, its temporary file removed
    _, stderr = job.communicate(timeout=30)
    assert "job stopped by signal SIGTERM" in stderr.decode()
    assert not list(tmp_path.iterdir())


# --- temporary files of killed writers, a full disk ---------------------------------


def test_a_killed_writers_temporary_file_goes_with_the_next_write(tmp_path, sleeper):
    dest = tmp_path / "metrics.json"
    job = _job(dest, None)
    job.kill()
    job.wait()
    (left,) = tmp_path.glob(".metrics.json.*.tmp*")  # SIGKILL leaves it
    live = tmp_path / f".metrics.json.{left.name.split('.')[3]}.{sleeper.pid}.x.tmp.json"
    live.write_text("another process's, still writing")
    ok = tmp_path / ".metrics.json.notes.txt"  # not a temporary file of ours
    ok.write_text("kept")
    write_text("{}\n", dest)
    assert dest.read_text() == "{}\n"
    assert not left.exists() and live.exists() and ok.exists()

    # the folder is listed once per process: a temporary file abandoned after this
    # process's first write there waits for the next process's
    late = tmp_path / f".late.json.{left.name.split('.')[3]}.{job.pid}.y.tmp.json"
    late.write_text("abandoned later")
    write_text("{}\n", tmp_path / "late.json")
    assert late.exists()

    folder = tmp_path / "sub" / "shards"
    folder.parent.mkdir()
    abandoned = folder.parent / f".shards.{left.name.split('.')[3]}.{job.pid}.abc.tmp"
    abandoned.mkdir()
    (abandoned / "part.csv").write_text("half")
    with atomic_directory(folder) as tmp:
        (tmp / "part.csv").write_text("whole")
    assert not abandoned.exists() and (folder / "part.csv").read_text() == "whole"


def _no_space(path):
    raise OSError(errno.ENOSPC, "No space left on device", str(path))


def test_a_full_disk_while_writing_leaves_nothing_and_says_so_in_one_line(tmp_path, capsys):
    dest = tmp_path / "eval" / "predictions.csv"
    with pytest.raises(DiskFullError) as raised, atomic_path(dest) as tmp:
        tmp.write_text("track_id,genre\n")  # half written, then the disk is full
        _no_space(tmp)
    message = str(raised.value)
    assert message.startswith(f"{dest}: no space left on the device")
    assert "MiB free" in message and "rerun the same command" in message
    assert "\n" not in message
    assert not dest.exists() and not list(dest.parent.iterdir())

    # a writer that wraps the OSError (torch, pandas) is recognised by its cause
    with pytest.raises(DiskFullError), atomic_directory(tmp_path / "shards") as tmp:
        try:
            _no_space(tmp)
        except OSError as exc:
            raise RuntimeError("PytorchStreamWriter failed writing file") from exc
    assert sorted(p.name for p in tmp_path.iterdir()) == ["eval"]

    # in a Snakemake script: one ERROR line, exit status 1, no traceback
    log = tmp_path / "job.log"
    with pytest.raises(SystemExit) as stopped, script_logging(log), atomic_path(dest) as tmp:
        _no_space(tmp)
    assert str(stopped.value) == f"ERROR: {message}"
    assert "Traceback" not in capsys.readouterr().err
