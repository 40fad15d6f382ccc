"""Exceptions whose messages are shown to users as they are.

Every message names the file or config key at fault and says what to do.
"""


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
