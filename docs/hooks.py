"""MkDocs hook (mkdocs.yml, ``hooks:``): a build stops when a generated page is stale.

The configuration reference, the model catalogue and the rule graph are generated from
the workflow (``python -m genreflow.docs_pages``); building the site from an out-of-date
copy would publish a page that disagrees with the code.
"""

from __future__ import annotations

from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import Abort

from genreflow.docs_pages.pages import stale_pages


def on_pre_build(config: MkDocsConfig) -> None:
    """Abort the build, naming each generated page that is out of date."""
    root = Path(config.config_file_path).parent
    stale = stale_pages(root)
    if stale:
        named = ", ".join(str(path) for path in stale)
        raise Abort(f"generated pages out of date: {named}; run python -m genreflow.docs_pages")
