"""The documentation: the generated pages (configuration reference, model catalogue,
rule graph) match the workflow, name every schema key and every model, and the README
is a landing page that shows the two commands and the way to your own music at once."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from genreflow.docs_pages import config_reference, model_catalogue
from genreflow.docs_pages.pages import stale_pages
from genreflow.models.index import load_index

from conftest import PROJECT_ROOT

README_LINES = 150
FIRST_SCREEN = 40


def schema_and_config() -> tuple[dict, dict]:
    schema = yaml.safe_load((PROJECT_ROOT / config_reference.SCHEMA).read_text())
    config = yaml.safe_load((PROJECT_ROOT / config_reference.DEFAULT_CONFIG).read_text())
    return schema, config


def test_the_generated_pages_are_up_to_date():
    assert stale_pages(PROJECT_ROOT) == [], "run python -m genreflow.docs_pages"


def test_the_config_reference_names_every_schema_key_with_its_meaning():
    page = (PROJECT_ROOT / config_reference.PAGE).read_text()
    keys = config_reference.schema_keys(*schema_and_config())
    assert len(keys) > 100
    for key in keys[1:]:
        if len(key.path) > 1:
            assert f"| `{key.dotted}` |" in page, key.dotted
    assert "| `features.sets.<name>.kind` |" in page
    assert '| `dataset.name` | string | `"demo"` |' in page


def test_a_schema_key_without_a_meaning_stops_the_reference(tmp_path):
    schema, config = schema_and_config()
    del schema["properties"]["download"]["properties"]["retries"]["description"]
    with pytest.raises(ValueError, match=r"download\.retries"):
        config_reference.render(config_reference.schema_keys(schema, config))


def test_the_model_catalogue_has_a_section_per_registered_model():
    page = (PROJECT_ROOT / model_catalogue.PAGE).read_text()
    index = load_index()
    assert len(index) >= 19
    for name, model in index.items():
        assert f"\n## {name}\n" in page
        assert model.reproduces in page
    assert "48.0% (report 001: test, GTZAN)" in page  # cnn_seed001's published figure


def test_a_changed_schema_or_index_makes_its_page_stale(tmp_path):
    for path in (
        config_reference.SCHEMA,
        config_reference.DEFAULT_CONFIG,
        Path("src/genreflow/models/index.json"),
        config_reference.PAGE,
        model_catalogue.PAGE,
    ):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(PROJECT_ROOT / path, tmp_path / path)
    assert stale_pages(tmp_path, with_rulegraph=False) == []
    schema = tmp_path / config_reference.SCHEMA
    schema.write_text(schema.read_text().replace("names the folders", "names THE folders", 1))
    index = tmp_path / "src/genreflow/models/index.json"
    index.write_text(index.read_text().replace("report 001: CNN", "report 001: a CNN", 1))
    assert stale_pages(tmp_path, with_rulegraph=False) == [
        config_reference.PAGE,
        model_catalogue.PAGE,
    ]


def test_the_readme_lands_two_commands_and_your_own_music_on_its_first_screen():
    lines = (PROJECT_ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= README_LINES
    first_screen = "\n".join(lines[:FIRST_SCREEN])
    assert "-c requirements/lock.txt" in first_screen and "snakemake --cores" in first_screen
    assert "bash tests/run.sh" in first_screen
    assert "docs/data.md#your-own-music" in first_screen
    assert "```mermaid" in "\n".join(lines)


def test_the_test_command_builds_the_docs_strictly():
    assert "mkdocs build --strict" in (PROJECT_ROOT / "tests" / "run.sh").read_text()


def test_the_docs_build_stops_on_a_stale_generated_page(tmp_path, monkeypatch):
    import importlib.util

    from mkdocs.exceptions import Abort

    spec = importlib.util.spec_from_file_location("docs_hooks", PROJECT_ROOT / "docs/hooks.py")
    hooks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hooks)
    monkeypatch.setattr(hooks, "stale_pages", lambda root: [model_catalogue.PAGE])

    class Config:
        config_file_path = str(tmp_path / "mkdocs.yml")

    with pytest.raises(Abort, match="docs/reference/models.md"):
        hooks.on_pre_build(Config())
    monkeypatch.setattr(hooks, "stale_pages", lambda root: [])
    hooks.on_pre_build(Config())
