"""No two jobs write the same cached numba kernel (numba #10128), and jobs never read a
shared cache that such a race could have poisoned."""

import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from genreflow.kernels.cache import (
    cache_files,
    folder_fingerprint,
    kernel_unit,
    user_kernel_cache,
)

from conftest import PROJECT_ROOT
from test_envs import RULES, rule_envs_and_scripts, third_party_imports

# Two gufuncs; whichever is compiled second in a process gets another ABI tag in its
# symbol names, which is what makes a pair from two processes incompatible.
RACY_MODULE = """
import numpy as np
from numba import guvectorize

@guvectorize(["void(float64[:], float64[:])"], "(n)->(n)", cache=True)
def other(x, out):
    for i in range(x.shape[0]):
        out[i] = 2.0 * x[i]

@guvectorize(["void(float64[:], float64[:])"], "(n)->(n)", cache=True)
def target(x, out):
    total = 0.0
    for i in range(x.shape[0]):
        total += x[i]
        out[i] = total
"""
CALL_TARGET = "import numpy as np, racy; print(racy.target(np.arange(5.0)).tolist())"
EXPECTED = "[0.0, 1.0, 3.0, 6.0, 10.0]"


def python(code: str, cwd: Path, cache: Path | None, **env) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    environment.update(env, PYTHONPATH=f"{cwd}{os.pathsep}{PROJECT_ROOT / 'scripts'}")
    if cache is not None:
        environment["NUMBA_CACHE_DIR"] = str(cache)
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture(scope="module")
def racy(tmp_path_factory):
    """The racy module, a complete cache of it, and a cache poisoned as in numba #10128."""
    root = tmp_path_factory.mktemp("racy")
    (root / "racy.py").write_text(RACY_MODULE)
    complete = root / "complete"
    assert python(CALL_TARGET, root, complete).stdout.strip() == EXPECTED
    # a second process finds `other` cached and compiles `target` alone: another tag
    second = root / "second"
    shutil.copytree(complete, second)
    (folder,) = [p for p in second.iterdir() if p.is_dir()]
    for path in cache_files(folder)["racy.target-10"]:
        path.unlink()
    assert python(CALL_TARGET, root, second).stdout.strip() == EXPECTED
    # the pair a race leaves: X.nbc from the first compilation, guf-X.nbc from the second
    poisoned = root / "poisoned"
    shutil.copytree(complete, poisoned)
    for path in folder.glob("guf-racy.target-*"):
        shutil.copy2(path, poisoned / folder.name / path.name)
    return root, complete, poisoned


def test_a_mismatched_gufunc_pair_crashes_every_process(racy):
    root, complete, poisoned = racy
    for _ in range(2):
        crashed = python(CALL_TARGET, root, poisoned)
        assert crashed.returncode < 0, crashed  # killed by a signal (SIGSEGV)
    assert python(CALL_TARGET, root, complete).stdout.strip() == EXPECTED


JOB = """
import __main__, json, os, sys, types
__main__.snakemake = types.SimpleNamespace(input=types.SimpleNamespace(**json.loads(sys.argv[1])))
import _bootstrap
import numpy as np, racy
print(os.environ["NUMBA_CACHE_DIR"], racy.target(np.arange(5.0)).tolist())
"""


def run_job(root: Path, inputs: dict, shared_cache: Path) -> subprocess.Popen:
    """A script as Snakemake runs it (its ``snakemake`` object, ``_bootstrap`` first),
    in an environment whose NUMBA_CACHE_DIR is the shared, poisoned cache."""
    import json

    environment = {**os.environ, "NUMBA_CACHE_DIR": str(shared_cache)}
    environment["PYTHONPATH"] = f"{root}{os.pathsep}{PROJECT_ROOT / 'scripts'}"
    return subprocess.Popen(
        [sys.executable, "-c", JOB, json.dumps({k: str(v) for k, v in inputs.items()})],
        cwd=root,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_jobs_run_on_private_copies_so_the_race_cannot_reach_them(racy):
    root, complete, poisoned = racy
    source_before = folder_fingerprint(complete)
    poisoned_before = folder_fingerprint(poisoned)
    # four jobs at once: two start from the complete cache, two from nothing
    jobs = [run_job(root, {"kernels": complete}, poisoned) for _ in range(2)]
    jobs += [run_job(root, {}, poisoned) for _ in range(2)]
    private = []
    for job in jobs:
        out, err = job.communicate(timeout=300)
        assert job.returncode == 0, err
        folder, result = out.strip().split(" ", 1)
        assert result == EXPECTED
        private.append(folder)
        assert not Path(folder).exists(), "a job's private cache outlives it"
    assert len(set(private)) == len(jobs)
    assert not {str(complete), str(poisoned)} & set(private)
    assert folder_fingerprint(complete) == source_before
    assert folder_fingerprint(poisoned) == poisoned_before
    assert not list(root.glob("__pycache__/*.nb[ic]")), "a job wrote the in-tree cache"


def test_private_cache_must_come_before_numba(tmp_path):
    result = python(
        "import numba\nfrom genreflow.kernels.cache import use_private_cache\nuse_private_cache()",
        tmp_path,
        None,
    )
    assert result.returncode != 0 and "before numba is imported" in result.stderr


def test_kernel_unit_pairs_a_gufunc_with_its_wrapper():
    names = [
        "pitch._pi_wrapper-430.py311.nbi",
        "pitch._pi_wrapper-430.py311.2.nbc",
        "guf-pitch._pi_wrapper-430.py311.1.nbc",
        "guf-pitch._pi_wrapper-430.py311.nbi",
    ]
    assert {kernel_unit(name) for name in names} == {"pitch._pi_wrapper-430"}


def scripts_running_librosa() -> dict[str, Path]:
    """Rules (by script) whose modules import librosa: they may run its kernels."""
    scripts = {s for group in rule_envs_and_scripts().values() for s in group}
    return {s.stem: s for s in scripts if "librosa" in third_party_imports({s})}


def test_every_rule_that_may_run_librosa_kernels_starts_from_compile_kernels():
    librosa_scripts = scripts_running_librosa()
    assert {"extract_features", "augment", "explain", "compile_kernels", "classify_shard"} <= set(
        librosa_scripts
    )
    blocks = re.split(r"^(?=(?:rule|checkpoint) \w+:|use rule )", RULES, flags=re.MULTILINE)[1:]
    for block in blocks:
        script = re.search(r'script:\s*\n\s*"\.\./\.\./scripts/(\w+)\.py"', block)
        if not script or script.group(1) not in librosa_scripts:
            continue
        name = block.split(":", 1)[0]
        if script.group(1) == "compile_kernels":
            assert "cache=directory(KERNELS)," in block
            continue
        assert re.search(r"^\s+kernels=KERNELS,", block, flags=re.MULTILINE), (
            f"{name} imports librosa but does not start from rule compile_kernels' cache"
        )
    common = (PROJECT_ROOT / "workflow" / "rules" / "common.smk").read_text()
    assert 'KERNELS = "results/kernels/{dataset}/numba_cache"' in common


def test_every_script_prepares_its_process_first():
    for script in sorted((PROJECT_ROOT / "scripts").glob("*.py")):
        if script.name == "_bootstrap.py":
            continue
        code = [
            line
            for line in script.read_text().splitlines()
            if line.startswith(("import ", "from "))
        ]
        assert code[0].startswith("import _bootstrap"), script.name


def test_user_kernel_cache_is_built_once_under_a_lock(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    builds = []

    def build(folder: Path) -> None:
        builds.append(folder)
        time.sleep(0.5)  # the other caller arrives while this one builds
        (folder / "kernel.nbi").write_text("compiled")

    results = []
    callers = [
        threading.Thread(target=lambda: results.append(user_kernel_cache(build))) for _ in range(3)
    ]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join()
    assert len(builds) == 1
    assert len(set(results)) == 1 and (results[0] / "kernel.nbi").read_text() == "compiled"
    assert not [p for p in results[0].parent.iterdir() if p.name.startswith(".numba-")]


def test_a_failed_build_leaves_no_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))

    def broken(folder: Path) -> None:
        (folder / "half.nbi").write_text("half")
        raise RuntimeError("compiler died")

    with pytest.raises(RuntimeError):
        user_kernel_cache(broken)
    assert not list((tmp_path / "genreflow").glob("numba-*/"))
    assert not [p for p in (tmp_path / "genreflow").iterdir() if p.is_dir()]


@pytest.mark.parametrize("command", ["predict", "explain"])
def test_help_answers_without_building_or_loading_kernels(tmp_path, command):
    code = (
        "import sys\n"
        f"sys.argv = ['genreflow', '{command}', '--help']\n"
        "from genreflow.cli import run\n"
        "try:\n"
        "    run()\n"
        "except SystemExit as done:\n"
        "    assert done.code == 0, done.code\n"
        "assert 'numba' not in sys.modules and 'librosa' not in sys.modules\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "XDG_CACHE_HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "usage: genreflow" in done.stdout
    assert not list(tmp_path.rglob("numba-*"))  # nothing compiled, nothing cached
