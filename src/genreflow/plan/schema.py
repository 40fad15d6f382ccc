"""The config's shape: every JSON-schema violation, one readable line each."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from genreflow.checkout import CHECKOUT
from genreflow.errors import ConfigError, closest, unknown_key

# the schema of a checkout (the Snakefile passes its own)
SCHEMA_PATH = CHECKOUT / "workflow" / "schemas" / "config.schema.yaml"

# keys of earlier configs, with what replaced them
REPLACED_KEYS = {
    "training.seed": (
        "training.repeats, a list of seeds: [0] trains each model once per fold as "
        "training.seed: 0 did, [0, 1, 2] three times"
    ),
}


class ConfigProblems(ConfigError):
    """Every problem of a config, one line each (``problems``)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


def caught(function: Any, *args: Any, **kwargs: Any) -> list[str]:
    """The message of the :class:`ConfigError` ``function`` raises, as a problem list."""
    try:
        function(*args, **kwargs)
    except ConfigError as exc:
        return str(exc).splitlines()
    return []


def read_yaml(path: str | os.PathLike) -> Any:
    """A YAML file's content, read with libyaml's loader where PyYAML has it (the schema
    and the default config are read at every parse)."""
    import yaml

    return yaml.load(Path(path).read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def schema_problems(config: dict[str, Any], schema_path: str | os.PathLike) -> list[str]:
    """One line per schema violation, each starting with the dotted config key.

    Snakemake's own ``validate`` reports only the first violation, deep in a dump of the
    schema; this lists them all, readably, with the closest valid name for a typo, and
    says what replaced a key of an earlier config.
    """
    import jsonschema

    schema = read_yaml(schema_path)
    validator = jsonschema.Draft202012Validator(schema)
    return [_replaced(line) for line in _problems(validator, config, [])]


def _replaced(problem: str) -> str:
    """A schema problem, or what to write instead for a key that was replaced."""
    key = problem.split(":", 1)[0]
    if key in REPLACED_KEYS and "unknown key" in problem:
        return f"{key}: replaced by {REPLACED_KEYS[key]}"
    return problem


def _problems(validator: Any, instance: Any, path: list[object]) -> list[str]:
    problems = []
    for error in sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path)):
        parts = [*path, *error.absolute_path]
        key = ".".join(str(part) for part in parts) or "(top level)"
        prefix = "" if not parts else f"{key}."
        if error.validator == "additionalProperties":
            allowed = list(error.schema.get("properties", {}))
            for name in sorted(set(error.instance) - set(allowed)):
                problems.append(unknown_key(f"{prefix}{name}", name, allowed))
        elif error.validator == "oneOf" and _kind_branch(error) is not None:
            # a block chosen by its `kind` (features.sets, augment.copies): its own errors
            branch = validator.evolve(schema=_kind_branch(error))
            problems += _problems(branch, error.instance, parts)
        elif error.validator == "oneOf" and isinstance(error.instance, dict):
            kinds = [
                b.get("properties", {}).get("kind", {}).get("const") for b in error.schema["oneOf"]
            ]
            kind = error.instance.get("kind")
            problems.append(
                f"{prefix}kind: {kind!r} is not a known kind{closest(kind, kinds)} "
                f"(allowed: {', '.join(str(k) for k in kinds if k)})"
            )
        elif error.validator == "type" and _typed_text(error.instance):
            problems.append(
                f"{key}: {error.message}: a --config override turns nested numbers and "
                f"nulls into text; put the override in a YAML file (e.g. {parts[-1]}: "
                f"{error.instance}) and add --configfile FILE after the preset's"
            )
        else:
            problems.append(f"{key}: {error.message}")
    return problems


def _typed_text(value: Any) -> bool:
    """Text that YAML would read as a number, a boolean or null (``'3'``, ``'null'``)."""
    import yaml

    if not isinstance(value, str):
        return False
    try:
        parsed = yaml.safe_load(value)
    except yaml.YAMLError:
        return False
    return parsed is None or isinstance(parsed, (int, float, bool))


def _kind_branch(error: Any) -> dict[str, Any] | None:
    """The ``oneOf`` branch whose ``kind`` constant matches the instance's, if any."""
    if not isinstance(error.instance, dict):
        return None
    for branch in error.schema["oneOf"]:
        if branch.get("properties", {}).get("kind", {}).get("const") == error.instance.get("kind"):
            return branch
    return None
