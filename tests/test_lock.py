"""requirements/lock.txt pins every dependency of pyproject.toml inside its range."""

import re
import tomllib

from packaging.requirements import Requirement

from genreflow.environment import locked_versions
from genreflow.environment import normalised_name as normalise

from conftest import PROJECT_ROOT

LOCK = PROJECT_ROOT / "requirements" / "lock.txt"


def pyproject_requirements() -> list[Requirement]:
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        requirements += extra
    return [Requirement(text) for text in requirements]


def lock_problems(requirements: list[Requirement], pins: dict[str, str]) -> list[str]:
    problems = []
    for requirement in requirements:
        version = pins.get(normalise(requirement.name))
        if version is None:
            problems.append(f"{requirement.name} is not in the lock")
        elif not requirement.specifier.contains(version, prereleases=True):
            problems.append(f"{requirement.name}=={version} is outside {requirement.specifier}")
    return problems


def test_every_line_of_the_lock_is_an_exact_pin():
    for line in LOCK.read_text().splitlines():
        requirement = line.split("#", 1)[0].strip()
        assert not requirement or re.fullmatch(
            r"[A-Za-z0-9_.\-]+==[A-Za-z0-9_.+!]+", requirement
        ), line


def test_lock_pins_every_pyproject_dependency_within_its_range():
    assert lock_problems(pyproject_requirements(), locked_versions(LOCK)) == []


def test_lock_check_catches_a_missing_or_out_of_range_pin():
    requirements = [Requirement("numpy>=1.26"), Requirement("librosa>=0.10.2")]
    assert lock_problems(requirements, {"numpy": "1.25.0"}) == [
        "numpy==1.25.0 is outside >=1.26",
        "librosa is not in the lock",
    ]


def test_lock_holds_torch_at_the_tested_release():
    pins = locked_versions(LOCK)
    assert pins["torch"] == "2.14.1"
    assert "torchaudio" in pins and "numba" in pins and "llvmlite" in pins


def test_the_install_commands_go_through_the_lock():
    readme = (PROJECT_ROOT / "README.md").read_text()
    run_sh = (PROJECT_ROOT / "tests" / "run.sh").read_text()
    assert "-c requirements/lock.txt" in run_sh
    assert readme.count("-c requirements/lock.txt") >= 1
