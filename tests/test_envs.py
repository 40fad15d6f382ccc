"""The conda envs in envs/ pin the lock's versions and hold what their rules import.

conda-forge cannot be reached from the machines this project is developed and tested
on, so no test here solves or builds an env: they check the files against the lock
(requirements/lock.txt) and against the imports of the rules' scripts.
"""

import ast
import re
import sys
from functools import cache
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from test_lock import LOCK

from genreflow.environment import locked_versions
from genreflow.environment import normalised_name as normalise

from conftest import PROJECT_ROOT

# conda-forge names of PyPI packages where they differ.
CONDA_TO_PYPI = {"pysoundfile": "soundfile", "soxr-python": "soxr", "pytorch": "torch"}
REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*?)\s*$")
# Packages pinned in an env at another version than the lock, and why. Empty: every
# env package is pinned at the lock's version (conda-forge publishes each of them under
# these versions as far as could be checked without reaching it).
VERSION_EXCEPTIONS: dict[str, str] = {}
# (env, distribution) imported somewhere in the modules a rule loads, but on a path that
# rule never runs, and why it is not in the env.
IMPORT_EXCEPTIONS = {
    ("features.yaml", "torch"): (
        "genreflow.kernels.checks.check_torch: rule compile_kernels runs only the "
        "librosa checks (genreflow.kernels.warmup)"
    ),
    **{
        (env, "llvmlite"): (
            "genreflow.environment.node_facts imports llvmlite only where numba, which "
            "brings it, is already imported"
        )
        for env in ("training.yaml", "evaluation.yaml", "report.yaml", "explain.yaml")
    },
}
ENV_FILES = sorted((PROJECT_ROOT / "envs").glob("*.yaml"))
RULES = "\n".join(
    p.read_text() for p in sorted((PROJECT_ROOT / "workflow" / "rules").glob("*.smk"))
)


def env_packages(env_file: Path) -> dict[str, str]:
    """PyPI name (normalised) → version spec, of an env's conda dependencies."""
    env = yaml.safe_load(env_file.read_text())
    packages = {}
    for dependency in env["dependencies"]:
        if isinstance(dependency, str):
            name, spec = REQUIREMENT.match(dependency).groups()
            packages[normalise(CONDA_TO_PYPI.get(name.lower(), name))] = spec.replace(" ", "")
    return packages


def test_there_are_env_files():
    assert ENV_FILES


@pytest.mark.parametrize("env_file", ENV_FILES, ids=lambda p: p.name)
def test_env_pins_the_locked_versions(env_file):
    env = yaml.safe_load(env_file.read_text())
    assert env["channels"][0] == "conda-forge"
    pins = locked_versions(LOCK)
    for name, spec in env_packages(env_file).items():
        if name == "python":
            assert spec == "3.11.*", f"{env_file.name}: python {spec}; the lock is for 3.11"
            continue
        assert name in pins, f"{env_file.name}: {name} is not in requirements/lock.txt"
        if name in VERSION_EXCEPTIONS:
            continue
        assert spec == f"=={pins[name]}", (
            f"{env_file.name}: {name} {spec}, but the lock pins {pins[name]}: run "
            "requirements/refresh-lock.sh and copy the version"
        )


def rule_envs_and_scripts() -> dict[str, set[Path]]:
    """env file name → the scripts of the rules that use it."""
    blocks = re.split(r"^(?=(?:rule|checkpoint) \w+:|use rule )", RULES, flags=re.MULTILINE)[1:]
    found: dict[str, set[Path]] = {}
    for block in blocks:
        env = re.search(r'conda:\s*\n\s*"\.\./\.\./envs/([^"]+)"', block)
        script = re.search(r'script:\s*\n\s*"\.\./\.\./(scripts/[^"]+)"', block)
        if env and script:
            found.setdefault(env.group(1), set()).add(PROJECT_ROOT / script.group(1))
    return found


def _module_file(module: str) -> Path | None:
    base = PROJECT_ROOT / "src" / Path(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imported_names(path: Path) -> set[str]:
    """Every module an ``import`` statement of ``path`` names (at any depth)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def third_party_imports(scripts: set[Path]) -> set[str]:
    """Top-level third-party modules imported by ``scripts`` and the genreflow modules
    they reach, followed transitively."""
    seen, queue, found = set(), list(scripts), set()
    while queue:
        path = queue.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in imported_names(path):
            top = name.split(".")[0]
            if top == "genreflow":
                module_file = _module_file(name)
                if module_file:
                    queue.append(module_file)
            elif top not in sys.stdlib_module_names and top not in ("_bootstrap", "__main__"):
                found.add(top)
    return found


@cache
def requirement_closure(distribution: str) -> frozenset[str]:
    """``distribution`` and everything it requires (installed metadata), normalised."""
    closure, queue = set(), [distribution]
    while queue:
        name = normalise(queue.pop())
        if name in closure:
            continue
        closure.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        queue += [Requirement(r).name for r in requires if "extra ==" not in r]
    return frozenset(closure)


ENVS_AND_SCRIPTS = rule_envs_and_scripts()


def test_every_rule_with_a_script_is_seen():
    scripts = {s for group in ENVS_AND_SCRIPTS.values() for s in group}
    assert len(scripts) >= 20 and all(s.is_file() for s in scripts)


@pytest.mark.parametrize("env_name", sorted(ENVS_AND_SCRIPTS))
def test_env_holds_what_its_rules_import(env_name):
    distributions = metadata.packages_distributions()
    listed = set(env_packages(PROJECT_ROOT / "envs" / env_name))
    provided = set().union(*(requirement_closure(name) for name in listed))
    missing = []
    for module in sorted(third_party_imports(ENVS_AND_SCRIPTS[env_name])):
        owners = [normalise(d) for d in distributions.get(module, [module])]
        if module == "snakemake":  # Snakemake's script preamble puts itself on sys.path
            continue
        if not any(o in provided or (env_name, o) in IMPORT_EXCEPTIONS for o in owners):
            missing.append(f"{module} ({', '.join(owners)})")
    assert not missing, f"envs/{env_name} lacks what its rules import: {', '.join(missing)}"


def test_import_scan_follows_genreflow_modules():
    scripts = ENVS_AND_SCRIPTS["features.yaml"]
    found = third_party_imports(scripts)
    assert {"librosa", "numpy", "pandas", "soundfile", "pywt"} <= found


def test_every_rule_env_exists():
    envs = set(re.findall(r'conda:\s*\n\s*"\.\./\.\./(envs/[^"]+)"', RULES))
    assert envs, "no rule declares a conda env"
    for env in envs:
        assert (PROJECT_ROOT / env).is_file(), env
    # each rule's block, from its header to the next header; `use rule … with:` blocks
    # inherit conda: from their rule but name their own log and benchmark files
    blocks = re.split(r"^[ ]*(?=(?:rule|checkpoint) \w+:|use rule )", RULES, flags=re.MULTILINE)[1:]
    assert len(blocks) >= 20
    for block in blocks:
        name = block.split(":", 1)[0]
        if not block.startswith("use rule"):
            assert re.search(r"^\s+conda:", block, flags=re.MULTILINE), f"{name} lacks conda:"
        assert re.search(r"^\s+log:", block, flags=re.MULTILINE), f"{name} lacks log:"
        assert re.search(r"^\s+benchmark:", block, flags=re.MULTILINE), f"{name} lacks benchmark:"
