"""The conda envs in envs/ declare what pyproject.toml declares, at the same bounds."""

import re
import tomllib

import pytest
import yaml

from conftest import PROJECT_ROOT

# conda-forge names of PyPI packages where they differ.
CONDA_TO_PYPI = {"pysoundfile": "soundfile", "soxr-python": "soxr", "pytorch": "torch"}
REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*(?:\[[^\]]*\])?\s*(.*?)\s*$")


def pyproject_requirements() -> dict[str, str]:
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        requirements += extra
    parsed = {}
    for requirement in requirements:
        name, spec = REQUIREMENT.match(requirement.split(";")[0]).groups()
        parsed[name.lower()] = spec.replace(" ", "")
    return parsed


ENV_FILES = sorted((PROJECT_ROOT / "envs").glob("*.yaml"))


def test_there_are_env_files():
    assert ENV_FILES


@pytest.mark.parametrize("env_file", ENV_FILES, ids=lambda p: p.name)
def test_env_matches_pyproject(env_file):
    env = yaml.safe_load(env_file.read_text())
    assert "conda-forge" in env["channels"]
    declared = pyproject_requirements()
    for dependency in env["dependencies"]:
        if not isinstance(dependency, str):
            continue
        name, spec = REQUIREMENT.match(dependency).groups()
        name = CONDA_TO_PYPI.get(name.lower(), name.lower())
        if name in ("python", "pip"):
            continue
        assert name in declared, f"{env_file.name}: {name} is not declared in pyproject.toml"
        bound = spec.replace(" ", "").split("=*")[0]
        assert bound == "" or bound in declared[name].split(","), (
            f"{env_file.name}: {name} {bound} differs from pyproject.toml's {declared[name]}"
        )


def test_every_rule_env_exists():
    rules = "\n".join(p.read_text() for p in (PROJECT_ROOT / "workflow" / "rules").glob("*.smk"))
    envs = set(re.findall(r'conda:\s*\n\s*"\.\./\.\./(envs/[^"]+)"', rules))
    assert envs, "no rule declares a conda env"
    for env in envs:
        assert (PROJECT_ROOT / env).is_file(), env
    # each rule's block, from its header to the next header; `use rule … with:` blocks
    # inherit conda: from their rule but name their own log and benchmark files
    blocks = re.split(r"^[ ]*(?=rule \w+:|use rule )", rules, flags=re.M)[1:]
    assert len(blocks) >= 20
    for block in blocks:
        name = block.split(":", 1)[0]
        if not block.startswith("use rule"):
            assert re.search(r"^\s+conda:", block, flags=re.M), f"{name} lacks conda:"
        assert re.search(r"^\s+log:", block, flags=re.M), f"{name} lacks log:"
        assert re.search(r"^\s+benchmark:", block, flags=re.M), f"{name} lacks benchmark:"
