#!/usr/bin/env bash
# Install genreflow with its test tools into .venv, through the committed lock
# (requirements/lock.txt), and run every check: Python lint and format (ruff),
# Snakefile formatting (snakefmt), Snakemake's linter, the documentation site's strict
# build (mkdocs), and the pytest suite.
# Usage: bash tests/run.sh [pytest arguments]
# pytest runs on PYTEST_WORKERS (default 2) pytest-xdist workers; the files that read the
# tiny workflow run share a worker, and each other file stays on one (tests/conftest.py).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -c requirements/lock.txt -e ".[test]"
export PATH="$PWD/.venv/bin:$PATH"
echo "== ruff check, ruff format --check (src scripts benchmarks tests docs)"
ruff check src scripts benchmarks tests docs
ruff format --check src scripts benchmarks tests docs
echo "== snakefmt --check ."
snakefmt --check .
echo "== snakemake --lint"
snakemake --lint
echo "== mkdocs build --strict (docs/, generated pages checked by docs/hooks.py)"
site=$(mktemp -d)
NO_MKDOCS_2_WARNING=1 mkdocs build --strict --site-dir "$site"
rm -rf "$site"
echo "== pytest (${PYTEST_WORKERS:-2} workers)"
pytest -n "${PYTEST_WORKERS:-2}" "$@"
