"""The generated pages, and which of them are stale."""

from __future__ import annotations

from pathlib import Path

from genreflow.docs_pages import config_reference, model_catalogue, rulegraph


def expected_pages(root: Path, *, with_rulegraph: bool = True) -> dict[Path, str]:
    """Each generated page's path (relative to ``root``) and the text it should hold."""
    pages = {
        config_reference.PAGE: config_reference.generate(root),
        model_catalogue.PAGE: model_catalogue.generate(root),
    }
    if with_rulegraph:
        block = rulegraph.mermaid(root)
        for page in rulegraph.PAGES:
            if (root / page).exists():
                pages[page] = rulegraph.place((root / page).read_text(), block)
    return pages


def stale_pages(root: Path, *, with_rulegraph: bool = True) -> list[Path]:
    """The generated pages whose committed text differs from what would be generated."""
    return [
        path
        for path, text in expected_pages(root, with_rulegraph=with_rulegraph).items()
        if not (root / path).exists() or (root / path).read_text() != text
    ]
