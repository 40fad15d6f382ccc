"""genreflow used as a Snakemake module of another project (docs/module.md): a project
folder with a three-statement Snakefile and a short config plans the same jobs as the
clone does, runs the demo's feature stage with its results in the project, and writes
nothing into the clone."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml

from genreflow.plan.workflow_files import fill_defaults, locate_bundled, read_config

from conftest import PROJECT_ROOT
from workflow_runner import copy_project, snakemake, write_config

pytestmark = pytest.mark.integration

PROJECT_SNAKEFILE = """configfile: "config/config.yaml"


module genreflow:
    snakefile:
        "{snakefile}"
    config:
        config


use rule * from genreflow
"""
# only what the project changes: the rest comes from the clone's config/config.yaml
OVERRIDES = {
    "demo": {"clips_per_genre": 4, "clip_seconds": 6, "seed": 7, "artists_per_genre": 4},
    "features": {"tracks_per_job": 20},
}
FEATURE_STAGE = "results/features/demo/tracks.csv"


def files_of(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``root`` (bytecode caches aside) with its size and mtime."""
    found = {}
    for folder, dirs, names in os.walk(root):
        dirs[:] = [name for name in dirs if name != "__pycache__"]
        for name in names:
            stat = os.stat(Path(folder, name))
            found[str(Path(folder, name).relative_to(root))] = (stat.st_size, stat.st_mtime_ns)
    return found


def planned_jobs(output: str) -> dict[str, int]:
    """The job counts table of a dry run: rule name → jobs."""
    return {
        rule: int(count)
        for rule, count in re.findall(r"^(\w+)\s+(\d+)$", output, flags=re.MULTILINE)
        if rule != "total"
    }


@pytest.fixture(scope="module")
def module_use(tmp_path_factory):
    root = tmp_path_factory.mktemp("module")
    clone = copy_project(root / "genreflow")
    project = root / "my-genres"
    (project / "config").mkdir(parents=True)
    (project / "Snakefile").write_text(PROJECT_SNAKEFILE.format(snakefile=clone / "Snakefile"))
    (project / "config" / "config.yaml").write_text(yaml.safe_dump(OVERRIDES))
    return clone, project


def test_the_project_plans_the_jobs_the_clone_plans(module_use):
    clone, project = module_use
    from_project = snakemake(project, "-n")
    in_clone = snakemake(clone, "-n", "--configfile", str(write_config(clone, OVERRIDES)))
    assert planned_jobs(from_project.stdout) == planned_jobs(in_clone.stdout)
    assert planned_jobs(from_project.stdout)["train_torch"] > 0
    (clone / "config" / "test.yaml").unlink()


def test_the_feature_stage_writes_in_the_project_and_nothing_in_the_clone(module_use):
    clone, project = module_use
    before = files_of(clone)
    # The kernels rule compile_kernels builds (about a minute on 2 cores) stand here as
    # an empty cache: each feature job compiles what it needs itself.
    kernels = project / "results" / "kernels" / "demo"
    (kernels / "numba_cache").mkdir(parents=True)
    (kernels / "host.json").write_text("{}\n")
    snakemake(project, FEATURE_STAGE)
    table = (project / FEATURE_STAGE).read_text().splitlines()
    assert len(table) == 1 + 10 * OVERRIDES["demo"]["clips_per_genre"]
    assert (project / "results" / "logs").is_dir() and (project / ".snakemake").is_dir()
    after = files_of(clone)
    assert after == before, sorted(set(after.items()) ^ set(before.items()))[:10]


def test_a_module_config_fills_in_the_workflow_defaults(tmp_path):
    clone = PROJECT_ROOT
    config = {"dataset": {"name": "mine"}, "models": {"cnn_seed001": {"enabled": False}}}
    fill_defaults(config, clone)
    defaults = yaml.safe_load((clone / "config" / "config.yaml").read_text())
    assert config["dataset"]["name"] == "mine"
    assert config["dataset"]["source"] == defaults["dataset"]["source"]
    assert config["models"]["cnn_seed001"] == {
        **defaults["models"]["cnn_seed001"],
        "enabled": False,
    }
    assert set(config) == set(defaults)


def test_bundled_files_are_read_from_the_clone_unless_the_project_has_its_own(tmp_path):
    clone = PROJECT_ROOT
    config = {
        "dataset": {
            "registry": "resources/gtzan/tracks.csv",
            "subset": "resources/gtzan_mini/track_ids.txt",
            "collection": {"alias_table": "resources/genre_aliases.yaml"},
        }
    }
    own = tmp_path / "resources" / "gtzan_mini" / "track_ids.txt"
    own.parent.mkdir(parents=True)
    own.write_text("blues.00000\n")
    changed = locate_bundled(config, clone, workdir=tmp_path)
    assert changed == ["dataset.registry", "dataset.collection.alias_table"]
    assert config["dataset"]["registry"] == str(clone / "resources/gtzan/tracks.csv")
    assert config["dataset"]["subset"] == "resources/gtzan_mini/track_ids.txt"  # the project's
    # inside the clone nothing changes
    assert locate_bundled(config, clone, workdir=clone) == []


def test_commands_outside_snakemake_read_a_module_project_config_as_the_run_does(tmp_path):
    clone = PROJECT_ROOT
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.yaml").write_text("dataset: {name: mine, source: music}\n")
    extra = tmp_path / "more.yaml"
    extra.write_text("folds: {n_folds: 3}\n")
    config = read_config([str(extra)], tmp_path)
    defaults = yaml.safe_load((clone / "config" / "config.yaml").read_text())
    assert config["dataset"]["name"] == "mine" and config["folds"]["n_folds"] == 3
    assert set(config) == set(defaults)
    alias_table = config["dataset"]["collection"]["alias_table"]
    assert alias_table == str(clone / "resources" / "genre_aliases.yaml")
