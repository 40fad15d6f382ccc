"""Run the workflow in a scratch copy of the project, as a user would."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from conftest import PROJECT_ROOT

WORKFLOW_ENTRIES = (
    "Snakefile",
    "workflow",
    "profiles",
    "config",
    "envs",
    "scripts",
    "src",
    "resources",
)
SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def copy_project(dest: Path) -> Path:
    """Copy the workflow (not results or downloads) into ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    for entry in WORKFLOW_ENTRIES:
        source = PROJECT_ROOT / entry
        if source.is_dir():
            shutil.copytree(
                source,
                dest / entry,
                ignore=shutil.ignore_patterns("downloads", "__pycache__", "*.egg-info"),
            )
        else:
            shutil.copy2(source, dest / entry)
    return dest


def write_config(project: Path, config: dict, name: str = "test.yaml") -> Path:
    path = project / "config" / name
    path.write_text(yaml.safe_dump(config))
    return path


def snakemake(
    project: Path, *args: str, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Run Snakemake in ``project``; on an unexpected failure show its output."""
    result = subprocess.run(
        [*SNAKEMAKE, "--cores", "2", *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=1800,  # a hang guard: the tiny run shares 2 cores with the other worker
        env=env,
        check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"snakemake {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
        )
    return result
