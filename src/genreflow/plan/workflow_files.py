"""The workflow's own files when the run is elsewhere: its default config and bundled data.

Used as a module of another project (docs/module.md), the workflow runs with that project
as the working directory and that project's config. :func:`fill_defaults` puts the
workflow's ``config/config.yaml`` under the project's config, as ``--configfile`` does in
the clone, so the project's config needs only the keys it changes.

:func:`locate_bundled` finds the files the workflow ships with. A config names them by
paths relative to the clone (``resources/gtzan/tracks.csv``, ``resources/genre_aliases.yaml``):
inside the clone they resolve as written; elsewhere a relative path that does not exist in
the working directory but does in the workflow's folder is read from the workflow's
folder. The user's own files always win: a path that exists in the working directory is
left as it is.
"""

from __future__ import annotations

import copy
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import yaml
from snakemake.utils import update_config

from genreflow.checkout import CHECKOUT
from genreflow.errors import ConfigError
from genreflow.plan.schema import read_yaml

DEFAULT_CONFIG = Path("config/config.yaml")
BUNDLED = "resources/"  # where the files the workflow ships with live, in the clone

# the config keys that may name a bundled file (dotted paths)
BUNDLED_KEYS = (
    "dataset.registry",
    "dataset.subset",
    "dataset.collection.alias_table",
)


def locate(value: Any, workflow_root: Path, workdir: Path) -> Any:
    """``value`` itself, or its absolute path under ``workflow_root`` when it is a relative
    path under ``resources/`` missing from ``workdir`` but present in the workflow's folder
    (a path elsewhere, such as an own-music registry a run writes, stays the project's)."""
    if not isinstance(value, str) or not value.startswith(BUNDLED):
        return value
    if (workdir / value).exists() or not (workflow_root / value).exists():
        return value
    return str((workflow_root / value).resolve())


def locate_bundled(
    config: MutableMapping[str, Any], workflow_root: Path, workdir: Path | None = None
) -> list[str]:
    """Point ``config``'s bundled-file keys at the workflow's folder where needed (in place,
    as Snakemake's ``config`` is shared by every rule); returns the keys it changed."""
    workdir = Path.cwd() if workdir is None else workdir
    if workflow_root.resolve() == workdir.resolve():
        return []
    changed = []
    for dotted in BUNDLED_KEYS:
        *parents, last = dotted.split(".")
        block: Any = config
        for part in parents:
            block = block.get(part) if isinstance(block, MutableMapping) else None
        if not isinstance(block, MutableMapping) or last not in block:
            continue
        located = locate(block[last], workflow_root, workdir)
        if located != block[last]:
            block[last] = located
            changed.append(dotted)
    return changed


def fill_defaults(config: MutableMapping[str, Any], workflow_root: Path) -> None:
    """Merge ``config`` over the workflow's default config, in place (a no-op in the clone,
    where Snakemake has loaded that file first).

    In place because Snakemake's ``config`` is one object: used as a module with
    ``config: config``, the host project's config gains the defaults too (a host that
    sets keys of its own keeps them). Under ``--replace-workflow-config`` the defaults
    come back, since no genreflow run is possible without them."""
    merged = read_yaml(workflow_root / DEFAULT_CONFIG)
    update_config(merged, copy.deepcopy(dict(config)))  # as Snakemake merges --configfile
    config.clear()
    config.update(merged)


def read_config(configfiles: list[str] | tuple[str, ...], workdir: Path) -> dict[str, Any]:
    """The config a run in ``workdir`` with ``--configfile configfiles`` sees, for commands
    outside Snakemake (``genreflow pin``): the workflow's defaults, ``workdir``'s own
    ``config/config.yaml`` if it has one (a module project's), then each file; bundled
    files located. Raises :class:`ConfigError` naming a file that cannot be read."""
    config: dict[str, Any] = {}
    own = [str(workdir / DEFAULT_CONFIG)] if (workdir / DEFAULT_CONFIG).is_file() else []
    for path in [*own, *configfiles]:
        try:
            update_config(config, read_yaml(path) or {})
        except (OSError, yaml.YAMLError) as error:
            raise ConfigError(f"{path}: cannot be read as YAML ({error}).") from None
    fill_defaults(config, CHECKOUT)
    locate_bundled(config, CHECKOUT, workdir)
    return config
