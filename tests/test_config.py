"""Config checks: schema violations and impossible values are named by key."""

import pytest
import yaml

from genreflow.config import archive_name, check_config, schema_problems, source_kind
from genreflow.errors import ConfigError

from conftest import PROJECT_ROOT

SCHEMA = PROJECT_ROOT / "workflow" / "schemas" / "config.schema.yaml"


def load(name: str) -> dict:
    return yaml.safe_load((PROJECT_ROOT / "config" / name).read_text())


def merged(preset: str) -> dict:
    """A preset merged over the default config, as `--configfile` does."""
    config = load("config.yaml")
    for key, value in load(preset).items():
        if isinstance(value, dict):
            config[key] = {**config.get(key, {}), **value}
        else:
            config[key] = value
    return config


@pytest.fixture
def in_project(monkeypatch):
    monkeypatch.chdir(PROJECT_ROOT)


@pytest.mark.parametrize("preset", ["config.yaml", "gtzan.yaml", "gtzan_mini.yaml"])
def test_shipped_configs_are_valid(preset, in_project):
    config = load("config.yaml") if preset == "config.yaml" else merged(preset)
    assert schema_problems(config, SCHEMA) == []
    check_config(config)


@pytest.mark.parametrize(
    "change, expected",
    [
        (lambda c: c["dataset"].update(colour="red"), "dataset.colour: unknown key"),
        (lambda c: c.update(extra=1), "extra: unknown key"),
        (lambda c: c["demo"].update(clips_per_genre=0), "demo.clips_per_genre: 0 is less than"),
        (lambda c: c["demo"].update(seed="x"), "demo.seed: 'x' is not of type 'integer'"),
        (lambda c: c["dataset"].update(layout="mp4"), "dataset.layout: 'mp4' is not one of"),
        (lambda c: c["dataset"].update(checksum="md5"), "dataset.checksum: 'md5' does not match"),
        (lambda c: c["download"].update(retries=0), "download.retries: 0 is less than"),
    ],
)
def test_schema_problems_name_the_key(change, expected):
    config = load("config.yaml")
    change(config)
    problems = schema_problems(config, SCHEMA)
    assert any(p.startswith(expected) for p in problems), problems


@pytest.mark.parametrize(
    "change, expected",
    [
        (lambda d: d.update(genres=["blues", "polka"]), "dataset.genres: unknown genre(s) polka"),
        (lambda d: d.update(source="/nonexistent/genres.tar.gz"), "dataset.source"),
        (lambda d: d.update(repair_sources=["/nonexistent"]), "dataset.repair_sources[0]"),
        (lambda d: d.update(checksum="md5:123"), "dataset.checksum"),
        (lambda d: d.update(registry="/nonexistent.csv"), "dataset.registry"),
        (lambda d: d.update(subset="/nonexistent.txt"), "dataset.subset"),
        (lambda d: d.update(source="https://example.org/"), "dataset.archive_name"),
    ],
)
def test_impossible_values_are_named(change, expected, in_project):
    config = merged("gtzan.yaml")
    config["dataset"]["archive_name"] = None
    change(config["dataset"])
    with pytest.raises(ConfigError) as info:
        check_config(config)
    assert expected in str(info.value)


def test_demo_name_and_generated_source_go_together(in_project):
    config = load("config.yaml")
    config["dataset"]["name"] = "mydemo"
    with pytest.raises(ConfigError, match="dataset.source"):
        check_config(config)


def test_source_kinds(tmp_path):
    assert source_kind({"source": "generated"}) == "generated"
    assert source_kind({"source": str(tmp_path)}) == "folder"
    assert source_kind({"source": f"file://{tmp_path}"}) == "folder"
    assert source_kind({"source": "https://x.org/genres.tar.gz"}) == "archive"
    assert archive_name({"source": "https://x.org/a/genres.tar.gz"}) == "genres.tar.gz"
    assert archive_name({"source": "x", "archive_name": "y.zip"}) == "y.zip"


def test_default_config_lists_every_registered_model():
    from genreflow.models import MODELS, load_all

    load_all()
    assert set(load("config.yaml")["models"]) == set(MODELS)
    for name, override in load("config.yaml")["demo"]["models"].items():
        assert set(override["arch"]) <= set(MODELS[name].arch), name
