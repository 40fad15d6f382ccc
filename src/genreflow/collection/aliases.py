"""Genre labels from folder names: one label for ``Hip-Hop``, ``hip hop`` and ``hiphop``.

The alias table (``resources/genre_aliases.yaml``, beets' table) maps case-insensitive
full-match regular expressions to canonical names; a config's own aliases are tried
first. Light: read when the workflow is parsed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from genreflow.errors import ConfigError


def spelling(name: str) -> str:
    """A genre name as the patterns see it: lowercased, ``_`` read as a space, spaces collapsed."""
    return " ".join(name.replace("_", " ").lower().split())


@dataclass(frozen=True)
class GenreAliases:
    """An ordered list of ``(pattern, canonical)``; the first full match wins."""

    rules: tuple[tuple[re.Pattern[str], str], ...]

    @classmethod
    def from_tables(cls, tables: Iterable[Mapping[str, Sequence[str]]]) -> GenreAliases:
        """Rules of each table, in order (``{canonical: [pattern, ...]}``)."""
        rules = []
        for table in tables:
            for canonical, patterns in table.items():
                for pattern in [patterns] if isinstance(patterns, str) else patterns:
                    rules.append((re.compile(pattern, re.IGNORECASE), str(canonical)))
        return cls(tuple(rules))

    def label(self, name: str) -> str:
        """The genre label of a folder name (or a CSV's genre value)."""
        spelt = spelling(name)
        for pattern, canonical in self.rules:
            match = pattern.fullmatch(spelt)
            if match:
                return spelling(match.expand(canonical))
        return spelt

    def mapping(self, names: Iterable[str]) -> dict[str, str]:
        """``{name: label}`` for each distinct name, sorted by name."""
        return {name: self.label(name) for name in sorted(set(names))}


def load_aliases(
    own: Mapping[str, Sequence[str]] | None,
    table: str | Path | None,
    *,
    key: str = "dataset.collection",
) -> GenreAliases:
    """The config's own aliases, then the alias table's (``None``: no table)."""
    tables: list[Mapping[str, Sequence[str]]] = [dict(own or {})]
    if table is not None:
        path = Path(table)
        if not path.is_file():
            raise ConfigError(f"{key}.alias_table: {path} does not exist.")
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{key}.alias_table: {path} is not valid YAML ({exc}).") from exc
        if not isinstance(loaded, dict):
            raise ConfigError(f"{key}.alias_table: {path} must map canonical names to patterns.")
        tables.append(loaded)
    try:
        return GenreAliases.from_tables(tables)
    except re.error as exc:
        raise ConfigError(
            f"{key}.genre_aliases: pattern {exc.pattern!r} is not a regular expression ({exc})."
        ) from exc
