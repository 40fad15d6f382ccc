"""Two runs of one config from scratch, in two directories, end byte-identical, though
the second is interrupted at four points across its stages (SIGKILL of the workflow,
SIGKILL of one training job, Ctrl-C, SIGTERM) and resumed each time with the same plain
command (docs/reproducibility.md); a seed added to training.repeats afterwards trains only
its own runs."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from conftest import TINY_DEMO

pytestmark = pytest.mark.integration

# What may differ between two runs of the same jobs (docs/reproducibility.md, "What is
# guaranteed"): when and how long things ran (Snakemake's benchmark tables, the jobs'
# timestamped logs, each training job's timing.json and each report's timing.csv), and
# numba's compiled machine code (results/kernels/), a build cache LLVM does not write
# byte-stably.
NOT_COMPARED = ("results/benchmarks/", "results/logs/", "results/kernels/")
TIMING_FILES = ("timing.json", "timing.csv")
# the second run's reports: k-fold (for the repeats below) and a one-fold holdout
RERUN_SCHEMES = ("stratified_kfold", "holdout")


def compared_files(project: Path) -> list[Path]:
    """Every file of ``project``'s results/ that two runs must write byte for byte."""
    return sorted(
        path.relative_to(project)
        for path in (project / "results").rglob("*")
        if path.is_file()
        and not str(path.relative_to(project)).startswith(NOT_COMPARED)
        and path.name not in TIMING_FILES
    )


def processes_of(project: Path) -> list[str]:
    """Command lines of running processes that name a file of ``project``."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if proc.name.isdigit() and int(proc.name) != os.getpid() and str(project) in command:
            found.append(f"{proc.name} {command}")
    return found


def job_pid(project: Path, script: str) -> int | None:
    """The PID of a running job of ``project`` whose script is ``script`` (the Python
    process, not the shell Snakemake starts it through)."""
    for line in processes_of(project):
        pid, program, *args = line.split()
        job_script = args[-1] if args else ""
        if "python" in Path(program).name and job_script.endswith(script):
            return int(pid) if f"{project}/.snakemake/scripts/" in job_script else None
    return None


# snakemake as a shell prompt starts it: a pytest-xdist worker ignores SIGINT and its
# children would inherit that (Ctrl-C would then do nothing)
AS_FROM_A_PROMPT = [
    sys.executable,
    "-c",
    (
        "import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
        "sys.argv[0] = 'snakemake'; runpy.run_module('snakemake', run_name='__main__')"
    ),
]


def one_more(folder: Path, name: str):
    """A condition: ``folder`` holds more files called ``name`` than it does now."""
    before = len(list(folder.rglob(name)))
    return lambda: len(list(folder.rglob(name))) > before


def interrupted(project: Path, args: list[str], ready, stop) -> str:
    """Run snakemake in ``project``; once ``ready()`` holds, ``stop(process)``; wait for it
    to end and for its jobs to go; return what it printed."""
    log = project / f"run{len(list(project.glob('run*.log')))}.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [*AS_FROM_A_PROMPT, "--cores", "2", *args],
            cwd=project,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, as a terminal gives a command
        )
        deadline = time.monotonic() + 900
        while not ready():
            assert process.poll() is None, f"the run ended before its stop:\n{log.read_text()}"
            assert time.monotonic() < deadline, "the stop point never came"
            time.sleep(0.2)
        stop(process)
        process.wait(timeout=900)
    deadline = time.monotonic() + 20
    while processes_of(project) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not processes_of(project), f"left running: {processes_of(project)}"
    return log.read_text()


def test_an_interrupted_second_run_ends_byte_identical_then_repeats(tiny_demo, tmp_path):
    from workflow_runner import copy_project, snakemake, write_config

    first, _, _ = tiny_demo
    second = copy_project(tmp_path / "second")
    config = write_config(second, TINY_DEMO)
    # two of the tiny run's four schemes: every stage, half its training jobs
    targets = [f"results/report/demo/{scheme}/summary.csv" for scheme in RERUN_SCHEMES]
    command = [*targets, "--configfile", str(config)]
    results = second / "results"

    # SIGKILL of the workflow once the data stage is done: its jobs stop themselves
    interrupted(
        second,
        command,
        ready=lambda: (results / "data/demo/manifest.csv").exists(),
        stop=lambda process: process.kill(),
    )
    assert list((second / ".snakemake").glob("locks/*"))  # a killed run cannot unlock
    # SIGKILL of one training job: the workflow stops after its other jobs
    training = {}

    def training_job() -> bool:
        training["pid"] = job_pid(second, "train_torch.py")
        return training["pid"] is not None

    said = interrupted(
        second,
        command,
        ready=training_job,
        stop=lambda process: os.kill(training["pid"], signal.SIGKILL),
    )
    assert "released the lock left by a run that was stopped" in said
    # Ctrl-C (SIGINT to the run's process group) once this run has evaluated a model
    said = interrupted(
        second,
        command,
        ready=one_more(results, "metrics.json"),
        stop=lambda process: os.killpg(process.pid, signal.SIGINT),
    )
    assert "Terminating processes on user request" in said
    # SIGTERM of the workflow once it writes a report: it finishes its running jobs
    interrupted(
        second,
        command,
        ready=one_more(results, "summary.csv"),
        stop=lambda process: process.terminate(),
    )
    finished = snakemake(second, *command)  # the same command, nothing to clear by hand
    assert "--unlock" not in finished.stdout + finished.stderr

    files = compared_files(second)
    assert len(files) > 500 and set(files) <= set(compared_files(first))
    differing = [str(f) for f in files if (first / f).read_bytes() != (second / f).read_bytes()]
    assert not differing, f"{len(differing)} file(s) differ between runs: {differing[:10]}"
    assert not list(results.rglob(".*.tmp*"))  # nothing half-written left behind
    assert not list((second / ".snakemake").glob("locks/*"))
    timing = json.loads(next((results / "models").rglob("timing.json")).read_text())
    assert timing["train_seconds"] > 0

    # then training.repeats [0, 1] in the second copy, one scheme's report: the new
    # seed's runs of the models that are not deterministic, nothing else retrained
    models = second / "results/models/demo/stratified_kfold"
    first_seed = {path: path.stat().st_mtime_ns for path in models.rglob("seed0/*/model.*")}
    repeated = json.loads(json.dumps(TINY_DEMO))
    repeated["training"]["repeats"] = [0, 1]
    report = "results/report/demo/stratified_kfold"
    snakemake(second, f"{report}/summary.md", "--configfile", str(write_config(second, repeated)))
    assert {path: path.stat().st_mtime_ns for path in first_seed} == first_seed
    assert sorted(p.parents[2].name for p in models.rglob("seed1/fold0/model.*")) == [
        "bilstm_seed004",
        "cnn_seed001",
    ]
    summary = pd.read_csv(second / report / "summary.csv").set_index("model")
    assert summary.loc["cnn_seed001", ["n_folds", "n_seeds", "n_runs"]].tolist() == [2, 2, 4]
    assert summary.loc["logreg", ["n_folds", "n_seeds", "n_runs"]].tolist() == [2, 1, 2]
    assert summary.loc["cnn_seed001", "track_accuracy_seed_std"] >= 0
    runs = pd.read_csv(second / report / "runs.csv")
    assert len(runs) == 2 * 4 + 2 * 2  # two repeated models × 4 runs, two deterministic × 2
    markdown = (second / report / "summary.md").read_text()
    assert "## Sources of spread" in markdown and "2 × 2 = 4" in markdown
    assert "the seed-to-seed spread of a difference" in markdown
    assert (second / report / "figures/runs.png").stat().st_size > 10_000
    # adding a third seed later: only its runs (a dry run lists what would run)
    repeated["training"]["repeats"] = [0, 1, 2]
    plan = snakemake(
        second, "-n", f"{report}/summary.md", "--configfile", str(write_config(second, repeated))
    ).stdout
    trained = [line for line in plan.splitlines() if "wildcards:" in line and "seed=" in line]
    assert trained and all("seed=2" in line for line in trained)
