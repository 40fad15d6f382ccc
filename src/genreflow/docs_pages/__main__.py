"""``python -m genreflow.docs_pages [--check] [--root DIR]``: rewrite the generated pages,
or (``--check``) exit 1 naming each one that is out of date."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from genreflow.atomic import write_text
from genreflow.checkout import CHECKOUT
from genreflow.docs_pages.pages import expected_pages, stale_pages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m genreflow.docs_pages", description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if a page is stale")
    parser.add_argument("--root", type=Path, default=CHECKOUT, help="the project folder")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_pages(args.root)
        for path in stale:
            print(f"{path} is out of date: run python -m genreflow.docs_pages", file=sys.stderr)
        return 1 if stale else 0
    for path, text in expected_pages(args.root).items():
        target = args.root / path
        if not target.exists() or target.read_text() != text:
            write_text(text, target)
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
