"""Exceptions whose messages are shown to users as they are.

Every message names the file or config key at fault and says what to do.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class GenreflowError(Exception):
    """Base class of the errors genreflow raises on bad input."""


class ConfigError(GenreflowError):
    """The configuration is invalid; the message names the key."""


class DownloadError(GenreflowError):
    """A download failed; the message says where to put a manual copy."""


class ChecksumError(DownloadError):
    """A downloaded or local archive does not match its published checksum."""


class ArchiveError(GenreflowError):
    """An archive is unreadable or holds unsafe member paths."""


class DataError(GenreflowError):
    """A dataset file or table is missing or malformed."""


class DiskFullError(GenreflowError):
    """The disk filled up while an output was written; nothing partial was kept."""


def closest(name: object, choices: Iterable[object]) -> str:
    """``"; did you mean 'x'?"`` for the choice closest to a misspelt ``name``, else ``""``."""
    choices = [str(c) for c in choices]
    same_letters = [c for c in choices if c.lower() == str(name).lower()]
    match = same_letters or difflib.get_close_matches(str(name), choices, n=1, cutoff=0.6)
    return f"; did you mean {match[0]!r}?" if match else ""


def unknown_key(key: str, name: object, allowed: Iterable[object]) -> str:
    """The problem line of an unknown config key ``key`` (whose last part is ``name``)."""
    allowed = [str(a) for a in allowed]
    return f"{key}: unknown key{closest(name, allowed)} (allowed here: {', '.join(allowed)})"
