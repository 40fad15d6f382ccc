"""The resolved plan (genreflow.plan): every config mistake named before any job runs."""

from __future__ import annotations

import copy
import dataclasses
import json
import subprocess
import sys

import pytest
import yaml

from genreflow.models.index import INDEX_PATH, load_index
from genreflow.models.index_build import build_index, render
from genreflow.plan import ConfigProblems, resolve_plan
from genreflow.plan.dataset import archive_name, source_kind
from genreflow.schemes import SCHEMES

from conftest import PROJECT_ROOT

SCHEMA = PROJECT_ROOT / "workflow" / "schemas" / "config.schema.yaml"
PRESETS = [
    "gtzan.yaml",
    "gtzan_mini.yaml",
    "fma_small.yaml",
    "fma_medium.yaml",
    "fma_large.yaml",
    "sweep_example.yaml",
]


def load(name: str) -> dict:
    return yaml.safe_load((PROJECT_ROOT / "config" / name).read_text())


def deep_merge(base: dict, update: dict) -> dict:
    """``update`` over ``base`` key by key, as Snakemake merges ``--configfile``."""
    merged = copy.deepcopy(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def merged(preset: str) -> dict:
    return deep_merge(load("config.yaml"), load(preset))


@pytest.fixture(autouse=True)
def in_project(monkeypatch):
    # relative paths of the config (registries, subsets) are Snakemake's working directory's
    monkeypatch.chdir(PROJECT_ROOT)


def problems_of(config: dict) -> list[str]:
    with pytest.raises(ConfigProblems) as info:
        resolve_plan(config, SCHEMA)
    return info.value.problems


def test_the_demo_plan():
    plan = resolve_plan(load("config.yaml"), SCHEMA)
    assert plan.dataset.name == "demo" and plan.dataset.source_kind == "generated"
    assert plan.dataset.n_tracks == 160 and plan.n_shards == 4
    assert plan.dataset.clip_seconds == 10.0 and plan.features.clip_seconds == 10.0
    assert plan.schemes == {"stratified_kfold": (0, 1)}
    assert len(plan.models) == 18 and len(plan.classical_models) == 6
    assert plan.final_models == (
        "cnn_seed001",
        "hybrid_seed004",
        "logreg",
        "random_forest",
        "musicnn_svm",
        "musicnn_mlp",
    )
    assert plan.embedding_sets == ("musicnn",)
    assert {"musicnn@s3", "musicnn@clip"} <= set(plan.arrays)
    # the probes are not explained: their inputs are embedding dimensions; the hybrid is,
    # on its log-mel input (its pretrained branch reads musicnn@s3)
    assert "musicnn_mlp" in plan.torch_models and "musicnn_mlp" not in plan.explained_models
    assert "hybrid_seed004" in plan.explained_models
    assert plan.models["hybrid_seed004"].inputs[-1] == "musicnn@s3"
    assert plan.models["embedding_forest_seed004"].inputs == ("musicnn@clip",)
    assert plan.explained == {"stratified_kfold": (0,)}  # explain.folds: 1 on the demo
    assert plan.sweeps == {}
    assert plan.arrays[:11] == tuple(load("config.yaml")["features"]["consolidate"])
    assert set(plan.arrays) >= {"chroma@s3", "wavelet@s3"}  # hybrid's and the BiLSTM's inputs
    # the demo's scale (demo.models) over the model's defaults
    unet = plan.models["unet_parallel_seed003"]
    assert unet.inputs == ("logmel64@s6",)  # the demo's bands: half the report's 128
    assert "logmel64@s6" in plan.arrays
    assert unet.arch_overrides == {"base_channels": 4, "branch_channels": 8}
    assert unet.arch["base_channels"] == 4 and unet.arch["depth"] == 4
    assert unet.train.batch_size == 8 and unet.train.lr == 1e-3
    assert plan.models["cnn_seed001"].artifact == "model.pt"
    from genreflow.saved import CLASSICAL_ARTIFACT, TORCH_ARTIFACT

    assert (TORCH_ARTIFACT, CLASSICAL_ARTIFACT) == ("model.pt", "model.joblib")  # one name each
    assert plan.models["svm"].artifact == "model.joblib" and plan.models["svm"].train is None
    assert "18 models (6 final)" in plan.describe()


@pytest.mark.parametrize("preset", PRESETS)
def test_every_preset_resolves(preset):
    plan = resolve_plan(merged(preset), SCHEMA)
    assert len(plan.models) == 18
    if preset == "fma_small.yaml":
        assert plan.schemes == {"official": (0,), "artist_kfold": (0, 1, 2, 3, 4)}
        assert plan.dataset.registry_built and plan.dataset.n_tracks == 8000
    if preset in ("fma_medium.yaml", "fma_large.yaml"):
        assert plan.dataset.metadata.subset == preset[4:-5]
        # features.max_jobs bounds the feature jobs: 25,000 tracks at 40 a job would be 625
        assert plan.n_shards == 64
    if preset == "fma_large.yaml":
        assert plan.dataset.n_tracks == 106574 and plan.dataset.metadata.unlabelled == "drop"
    if preset.startswith("gtzan"):
        # real datasets train every report's own sizes: the demo's scale is not applied
        assert plan.models["unet_parallel_seed003"].arch_overrides == {}
        assert plan.models["unet_parallel_seed003"].inputs == ("logmel@s6",)
        assert plan.models["hybrid_seed004"].inputs[0] == "logmel@s3"
        assert plan.final_models == tuple(plan.models)


def test_sweep_points_and_the_default_point():
    plan = resolve_plan(merged("sweep_example.yaml"), SCHEMA)
    sweep = plan.sweeps["cnn_seed001"]
    assert plan.sweep_scheme == "stratified_kfold"
    assert len(sweep.points) == 12 and sweep.swept == ("lr", "batch_size", "optimizer")
    assert all(len(point) == 10 for point in sweep.points)
    from genreflow.training.sweeps import point_id

    model = plan.models["cnn_seed001"]
    assert sweep.default_point == point_id(model.arch, model.train)
    # a scikit-learn model sweeps its estimator's keywords (arch keys)
    logreg = plan.sweeps["logreg"]
    assert logreg.swept == ("C",) and len(logreg.points) == 3
    assert {point.arch["C"] for point in logreg.points.values()} == {0.1, 1.0, 10.0}
    assert logreg.default_point in logreg.points  # C 1.0 is the registered default


def test_repeats_train_every_seed_but_deterministic_models_once():
    config = load("config.yaml")
    config["training"]["repeats"] = [3, 1]
    plan = resolve_plan(config, SCHEMA)
    assert plan.repeats == (3, 1) and plan.first_seed == 3
    for name in ("logreg", "svm", "musicnn_svm"):
        assert plan.models[name].deterministic and plan.models[name].seeds == (3,)
    for name in ("cnn_seed001", "sgd", "random_forest", "embedding_forest_seed004"):
        assert not plan.models[name].deterministic and plan.models[name].seeds == (3, 1)


def test_the_gtzan_presets_repeat_three_seeds_and_the_demo_one():
    assert resolve_plan(load("config.yaml"), SCHEMA).repeats == (0,)
    for preset in ("gtzan.yaml", "gtzan_mini.yaml"):
        assert resolve_plan(merged(preset), SCHEMA).repeats == (0, 1, 2)


def test_disabled_models_and_explanations_off():
    config = load("config.yaml")
    config["models"]["svm"]["enabled"] = False
    config["final"]["models"] = "all"
    config["explain"]["tracks_per_fold"] = 0
    plan = resolve_plan(config, SCHEMA)
    assert "svm" not in plan.models and "svm" not in plan.final_models
    assert plan.explained == {}


def test_the_plan_is_frozen():
    plan = resolve_plan(load("config.yaml"), SCHEMA)
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.n_shards = 1  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.models["cnn_seed001"].inputs = ()  # type: ignore[misc]


# A misspelt key in each kind of block: the key path and the closest valid name.
TYPOS = [
    (lambda c: c.update(modles={}), "modles: unknown key; did you mean 'models'?"),
    (lambda c: c["dataset"].update(regsitry=None), "dataset.regsitry: unknown key; did you mean"),
    (
        lambda c: c["dataset"]["format"].update(sample_rte=1),
        "dataset.format.sample_rte: unknown key; did you mean 'sample_rate'?",
    ),
    (lambda c: c["demo"].update(clip_second=3), "demo.clip_second: unknown key; did you mean"),
    (lambda c: c["download"].update(retry=3), "download.retry: unknown key; did you mean"),
    (lambda c: c["features"].update(hop=256), "features.hop: unknown key"),
    (
        lambda c: c["features"]["sets"]["logmel"].update(n_mel=64),
        "features.sets.logmel.n_mel: unknown key; did you mean 'n_mels'?",
    ),
    (
        lambda c: c["features"]["sets"].update(x={"kind": "logmell"}),
        "features.sets.x.kind: 'logmell' is not a known kind; did you mean 'logmel'?",
    ),
    (
        lambda c: c["features"]["segments"]["s3"].update(hop_second=1.0),
        "features.segments.s3.hop_second: unknown key; did you mean 'hop_seconds'?",
    ),
    (
        lambda c: c["augment"]["copies"].append({"kind": "noise", "snr": 3}),
        "augment.copies.5.snr: unknown key; did you mean 'snr_db'?",
    ),
    (lambda c: c["folds"].update(n_fold=3), "folds.n_fold: unknown key; did you mean 'n_folds'?"),
    (lambda c: c["training"].update(devic="cpu"), "training.devic: unknown key; did you mean"),
    (lambda c: c["evaluation"].update(sed=1), "evaluation.sed: unknown key; did you mean 'seed'?"),
    (lambda c: c["final"].update(model=[]), "final.model: unknown key; did you mean 'models'?"),
    (lambda c: c["explain"].update(ig_step=3), "explain.ig_step: unknown key; did you mean"),
    (lambda c: c["sweeps"].update(schema=None), "sweeps.schema: unknown key; did you mean"),
    (
        lambda c: c["sweeps"]["models"].update(cnn_seed001={"grid": {"lrr": [1.0]}}),
        "sweeps.models.cnn_seed001.grid.lrr: unknown key; did you mean 'lr'?",
    ),
    (
        lambda c: c["models"].update(cnn_seed01={"enabled": True}),
        "models.cnn_seed01: unknown model; did you mean 'cnn_seed001'?",
    ),
    (
        lambda c: c["models"]["cnn_seed001"].update(enable=True),
        "models.cnn_seed001.enable: unknown key; did you mean 'enabled'?",
    ),
    (
        lambda c: c["models"]["cnn_seed001"].update(arch={"n_filterz": 3}),
        "models.cnn_seed001.arch.n_filterz: unknown key; did you mean 'filters'?",
    ),
    (
        lambda c: c["models"]["cnn_seed001"].update(train={"lrr": 1.0}),
        "models.cnn_seed001.train.lrr: unknown key; did you mean 'lr'?",
    ),
    (
        lambda c: c["models"]["resnet_cnn_seed004"].update(train={"augment": {"mixup": 0.2}}),
        "models.resnet_cnn_seed004.train.augment.mixup: unknown key; did you mean 'mixup_alpha'?",
    ),
    (
        lambda c: c["models"]["svm"].update(arch={"c": 1.0}),
        "models.svm.arch.c: unknown key; did you mean 'C'?",
    ),
    (
        lambda c: c["demo"]["models"]["shortchunk_resnet"]["arch"].update(n_channel=8),
        "demo.models.shortchunk_resnet.arch.n_channel: unknown key; did you mean 'n_channels'?",
    ),
]


@pytest.mark.parametrize("change, expected", TYPOS)
def test_a_typo_in_any_block_is_named_with_the_closest_key(change, expected):
    config = load("config.yaml")
    change(config)
    problems = problems_of(config)
    assert any(p.startswith(expected) for p in problems), problems


def test_every_problem_is_listed_at_once():
    config = load("config.yaml")
    for change, _ in TYPOS:
        change(config)
    problems = problems_of(config)
    for _, expected in TYPOS:
        assert any(p.startswith(expected) for p in problems), (expected, problems)


def test_every_value_problem_is_listed_at_once():
    """The second pass (values the schema cannot judge) is one list too."""
    config = load("config.yaml")
    config["features"]["consolidate"].append("logmel@s9")
    config["final"]["models"] = ["cnn_sed001"]
    config["explain"]["schemes"] = ["holdout"]
    config["sweeps"]["models"] = {"cnn_seed001": {"grid": {"lr": ["fast"]}}}
    config["models"]["svm"]["enabled"] = False
    config["final"]["models"].append("svm")
    problems = problems_of(config)
    for expected in (
        "features.consolidate[11]: 'logmel@s9' names no segmentation",
        "final.models: cnn_sed001 is not one of",
        "final.models: svm is disabled",
        "explain.schemes: holdout is not one of",
        "sweeps.models.cnn_seed001.grid.lr: 'fast' is not a number",
    ):
        assert any(p.startswith(expected) for p in problems), (expected, problems)


@pytest.mark.parametrize(
    "train, expected",
    [
        ({"epochs": "ten"}, "models.cnn_seed001.train.epochs: 'ten' is not an integer"),
        ({"lr": None}, "models.cnn_seed001.train.lr: None is not a number"),
        ({"augment": 3}, "models.cnn_seed001.train.augment: give a mapping"),
        ({"grad_clip": "x"}, "models.cnn_seed001.train.grad_clip: 'x' is not a number or null"),
        ({"batch_size": 0}, "models.cnn_seed001.train.batch_size: 0 must be positive"),
    ],
)
def test_train_values_of_the_wrong_type_are_named(train, expected):
    config = load("config.yaml")
    config["models"]["cnn_seed001"]["train"] = train
    problems = problems_of(config)
    assert any(p.startswith(expected) for p in problems), problems


def test_the_demo_scale_wins_over_a_model_block_on_the_demo_only():
    config = load("config.yaml")
    config["models"]["unet_parallel_seed003"]["arch"] = {"base_channels": 16, "depth": 3}
    config["models"]["unet_parallel_seed003"]["inputs"] = ["mfcc@s6"]
    unet = resolve_plan(config, SCHEMA).models["unet_parallel_seed003"]
    assert unet.arch_overrides == {"base_channels": 4, "depth": 3, "branch_channels": 8}
    assert unet.inputs == ("logmel64@s6",)
    real = deep_merge(config, load("gtzan.yaml"))
    unet = resolve_plan(real, SCHEMA).models["unet_parallel_seed003"]
    assert unet.arch_overrides == {"base_channels": 16, "depth": 3}
    assert unet.inputs == ("mfcc@s6",)


@pytest.mark.parametrize(
    "change, expected",
    [
        (lambda c: c["demo"].update(clips_per_genre=0), "demo.clips_per_genre: 0 is less than"),
        (lambda c: c["demo"].update(seed="x"), "demo.seed: 'x' is not of type 'integer'"),
        (lambda c: c["dataset"].update(layout="mp4"), "dataset.layout: 'mp4' is not one of"),
        (lambda c: c["dataset"].update(checksum="md5"), "dataset.checksum: 'md5' does not match"),
        (lambda c: c["download"].update(retries=0), "download.retries: 0 is less than"),
        (
            lambda c: c["models"]["cnn_seed001"].update(train={"optimizer": "lion"}),
            "models.cnn_seed001.train.optimizer: 'lion' is not one of",
        ),
        (
            lambda c: c["models"]["cnn_seed001"].update(arch=3),
            "models.cnn_seed001.arch: 3 is not of type 'object'",
        ),
        (
            lambda c: c["sweeps"]["models"].update(cnn_seed001={"grid": [1]}),
            "sweeps.models.cnn_seed001.grid: [1] is not of type 'object'",
        ),
        (
            lambda c: c["models"]["logreg"].update(train={"lr": 1.0}),
            "models.logreg.train: logreg is a scikit-learn model and has no train block",
        ),
        (
            lambda c: c["models"]["cnn_seed001"].update(inputs=["logmel@s9"]),
            "models.cnn_seed001.inputs: 'logmel@s9' is not FEATURE@SEGMENTATION",
        ),
        (
            lambda c: c["final"].update(models=["svm", "polka_net"]),
            "final.models: polka_net is not one of",
        ),
        (
            lambda c: c["explain"].update(schemes=["holdout"]),
            "explain.schemes: holdout is not one of stratified_kfold",
        ),
        (
            lambda c: c["sweeps"]["models"].update(logreg={"grid": {"lr": [1.0]}}),
            "sweeps.models.logreg.grid.lr: unknown key",
        ),
        (
            lambda c: c["sweeps"]["models"].update(svm={"grid": {"C": [1.0], "lr": [1.0]}}),
            "sweeps.models.svm.grid.lr: unknown key (allowed here: C,",
        ),
        (
            lambda c: c["training"].update(seed=0),
            "training.seed: replaced by training.repeats, a list of seeds",
        ),
        (
            lambda c: c["explain"].update(ig_steps=512),
            "explain.ig_max_steps: 256 is below explain.ig_steps (512)",
        ),
        (
            lambda c: c["training"].update(repeats=[0, 0]),
            "training.repeats: [0, 0] has non-unique elements",
        ),
        (
            lambda c: c["training"].update(repeats=[1000]),
            "training.repeats.0: 1000 is greater than the maximum of 999",
        ),
        (
            lambda c: c["features"]["consolidate"].append("logmell@s3"),
            "features.consolidate[11]: 'logmell@s3' names no feature set; did you mean 'logmel'?",
        ),
        (
            lambda c: c["features"]["segments"]["s3"].update(seconds=60.0),
            "features.segments.s3.seconds: 60 s is longer than the 10 s clips",
        ),
        (
            lambda c: c["folds"].update(schemes=["official"]),
            "folds.schemes: the demo dataset has no official split",
        ),
        (
            lambda c: (
                c["features"]["segments"].update(s1={"seconds": 1.0}),
                c["features"]["consolidate"].append("musicnn@s1"),
            ),
            (
                "features.consolidate[11]: 'musicnn@s1': features.segments.s1.seconds (1 s) "
                "is shorter than one 2.992 s frame of musicnn"
            ),
        ),
        (
            lambda c: (
                c["features"]["sets"].pop("musicnn"),
                c["demo"]["models"]["hybrid_seed004"].pop("inputs"),  # its first error
            ),
            (
                "models.musicnn_svm.inputs: 'musicnn@clip' is not a summary set "
                "(gtzan_summary) or FEATURE@SEGMENTATION"
            ),
        ),
    ],
)
def test_impossible_values_are_named(change, expected):
    config = load("config.yaml")
    change(config)
    problems = problems_of(config)
    assert any(p.startswith(expected) for p in problems), problems


@pytest.mark.parametrize(
    "change, expected",
    [
        (lambda d: d.update(genres=["blues", "polka"]), "dataset.genres: unknown genre 'polka'"),
        (lambda d: d.update(genres=["blues", "rok"]), "dataset.genres: unknown genre 'rok'; did"),
        (lambda d: d.update(source="/nonexistent/genres.tar.gz"), "dataset.source"),
        (lambda d: d.update(repair_sources=["/nonexistent"]), "dataset.repair_sources[0]"),
        (lambda d: d.update(checksum="md5:123"), "dataset.checksum"),
        (lambda d: d.update(registry="/nonexistent.csv"), "dataset.registry"),
        (lambda d: d.update(subset="/nonexistent.txt"), "dataset.subset"),
        (lambda d: d.update(source="https://example.org/"), "dataset.archive_name"),
    ],
)
def test_impossible_dataset_values_are_named(change, expected):
    config = merged("gtzan.yaml")
    config["dataset"]["archive_name"] = None
    change(config["dataset"])
    problems = problems_of(config)
    assert any(p.startswith(expected) for p in problems), problems


def test_demo_name_and_generated_source_go_together():
    config = load("config.yaml")
    config["dataset"]["name"] = "mydemo"
    assert any(p.startswith("dataset.source") for p in problems_of(config))


def test_source_kinds(tmp_path):
    assert source_kind({"source": "generated"}) == "generated"
    registry = tmp_path / "tracks.csv"
    registry.write_text("track_id,genre,wav_md5\n")
    assert source_kind({"source": str(tmp_path), "registry": str(registry)}) == "folder"
    assert source_kind({"source": f"file://{tmp_path}"}) == "folder"
    # your own music: a folder without a published registry, or a CSV of songs
    assert source_kind({"source": str(tmp_path)}) == "collection"
    assert source_kind({"source": str(registry)}) == "collection"
    assert source_kind({"source": "https://x.org/genres.tar.gz"}) == "archive"
    assert archive_name({"source": "https://x.org/a/genres.tar.gz"}) == "genres.tar.gz"
    assert archive_name({"source": "x", "archive_name": "y.zip"}) == "y.zip"


def test_parsing_imports_neither_torch_nor_scikit_learn():
    code = (
        "import sys, yaml\n"
        "from genreflow.plan import resolve_plan\n"
        "resolve_plan(yaml.safe_load(open('config/config.yaml')))\n"
        "heavy = [m for m in ('torch', 'sklearn', 'pandas', 'librosa') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr


def test_the_model_index_is_in_step_with_the_registry():
    """Run `python -m genreflow.models.index_build` after adding or changing a model."""
    assert INDEX_PATH.read_text() == render(build_index())
    from genreflow.models import MODELS

    assert set(load_index()) == set(MODELS)


def test_default_config_lists_every_registered_model():
    index = load_index()
    config = load("config.yaml")
    assert set(config["models"]) == set(index)
    for name, override in config["demo"]["models"].items():
        assert set(override.get("arch", {})) <= set(index[name].arch_keys), name


def test_one_home_per_default():
    """The schema holds types and ranges; config/config.yaml every value; the model
    registry (each model's signature) every model default."""
    schema_text = SCHEMA.read_text()
    assert "default:" not in schema_text
    schema = yaml.safe_load(schema_text)
    assert schema["properties"]["folds"]["properties"]["schemes"]["items"]["enum"] == list(SCHEMES)
    index = json.loads(INDEX_PATH.read_text())
    from genreflow.models import MODELS, load_all
    from genreflow.models.registry import keyword_defaults

    load_all()
    for name, spec in MODELS.items():
        if spec.family == "torch":
            defaults = keyword_defaults(spec.hyperparameters)
            assert spec.arch == {**defaults, **spec.variant}, name
            assert set(index[name]["arch"]) == set(defaults), name


def test_the_schema_requires_every_key_the_config_sets():
    """config/config.yaml is the one home of each value: the schema makes it complete."""
    schema = yaml.safe_load(SCHEMA.read_text())

    def walk(node: dict, values: dict, key: str) -> None:
        if "properties" not in node:
            return  # a free-form map (features.sets, models, …)
        assert set(node.get("required", [])) == set(values), key
        for name, value in values.items():
            if isinstance(value, dict):
                walk(node["properties"][name], value, f"{key}.{name}")

    walk(schema, load("config.yaml"), "(top level)")
    config = load("config.yaml")
    del config["folds"]["n_folds"]
    assert "folds: 'n_folds' is a required property" in problems_of(config)


def test_a_variant_names_only_keys_the_architecture_takes():
    from genreflow.models.registry import ModelSpec

    def net(n_classes, input_shape, width=8):
        return None

    with pytest.raises(ValueError, match="variant keys"):
        ModelSpec("x", "torch", ("a@b",), build=net, hyperparameters=net, variant={"wdth": 4})


@pytest.mark.parametrize("preset", ["config.yaml", "gtzan.yaml", "gtzan_mini.yaml"])
def test_what_the_plan_says_a_job_runs_is_what_its_record_says(preset):
    """For every model: the settings the rule passes (RunSettings.to_dict, through a
    serialisation), rebuilt by the job, are what its config.json records."""
    from genreflow.training.job import Job, run_record
    from genreflow.training.settings import RunSettings

    plan = resolve_plan(load(preset) if preset == "config.yaml" else merged(preset), SCHEMA)
    features = plan.features.to_dict()
    scheme, folds = next(iter(plan.schemes.items()))
    for name, model in plan.models.items():
        passed = json.loads(json.dumps(model.run.to_dict()))
        settings = RunSettings.from_dict(passed)
        assert settings == model.run, name
        for seed in model.seeds:
            job = Job(plan.dataset.name, scheme, name, folds[-1], seed, {})
            record = run_record(
                job, settings, features, genres=[], n_examples={}, reproduces=model.reproduces
            )
            assert record["inputs"] == list(model.inputs), name
            assert record["arch"] == dict(model.arch), name
            assert record["repeat"] == seed and record["seed"] == seed + 1000 * folds[-1]
            assert record["features"]["clip_seconds"] == plan.features.clip_seconds
            if model.family == "torch":
                assert record["train"] == model.train.as_dict(), name
                assert record["train"]["epochs"] == model.train.epochs
                assert record["train"]["batch_size"] == model.train.batch_size
                assert "epochs" not in record  # one number of epochs: train.epochs
            else:
                assert record["train"] is None and settings.threads == 1


def test_training_max_epochs_caps_the_epochs_the_config_does_not_set():
    demo = resolve_plan(load("config.yaml"), SCHEMA)
    assert demo.training.max_epochs == 6
    assert demo.models["cnn_seed001"].train.epochs == 6  # the report's 30, capped
    assert demo.models["shortchunk_resnet"].train.epochs == 40  # set by demo.models
    gtzan = resolve_plan(merged("gtzan.yaml"), SCHEMA)
    assert gtzan.training.max_epochs is None
    assert gtzan.models["cnn_seed001"].train.epochs == 30
    assert gtzan.models["cnn_seed001"].run.device == "auto"


def test_the_folds_plan_checks_holdout_ratios_once():
    config = load("config.yaml")
    plan = resolve_plan(config, SCHEMA)
    assert plan.folds.to_dict() == {
        "n_folds": 2,
        "val_fraction": 0.2,
        "seed": 42,
        "holdout": {"val": 0.2, "train": 0.6, "test": 0.2},
        "artist_coverage": 0.8,
    }
    config["folds"]["schemes"] = ["holdout"]
    config["folds"]["holdout"] = {"train": 0.6, "val": 0.3, "test": 0.2}
    assert any("folds.holdout: ratios" in line and "sum to" in line for line in problems_of(config))


def test_a_job_rebuilds_settings_without_defaulting_any():
    from genreflow.training.settings import RunSettings

    plan = resolve_plan(load("config.yaml"), SCHEMA)
    passed = plan.models["cnn_seed001"].run.to_dict()
    del passed["train"]["lr"]
    with pytest.raises(ValueError, match="lack lr"):
        RunSettings.from_dict(passed)


def test_numbers_made_text_by_a_config_override_get_the_right_form_in_one_line():
    config = load("config.yaml")
    config["folds"]["n_folds"] = "3"  # what --config 'folds={"n_folds": 3}' gives
    config["features"]["clip_seconds"] = "null"
    problems = problems_of(config)
    assert len(problems) == 2
    assert problems[0].startswith("features.clip_seconds: 'null' is not of type")
    assert "put the override in a YAML file (e.g. n_folds: 3) and add --configfile" in problems[1]
