"""Precomputed embeddings (features.sets.<name>: {kind: precomputed}) and probes on any
embedding set: checked before any job, imported without audio, consolidated, and read
by the probes (musicnn_svm, marble_mlp with MARBLE's learning-rate search)."""

from __future__ import annotations

import copy
import json

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from genreflow.demo.publish import track_numbers
from genreflow.embeddings.precomputed import PrecomputedSource, read_records
from genreflow.errors import DataError
from genreflow.evaluation.predict import predict_torch_fold
from genreflow.evaluation.predict_classical import predict_classical_fold
from genreflow.features.consolidate import consolidate_feature
from genreflow.features.precomputed import import_precomputed
from genreflow.features.settings import FeatureSettings, segmentations
from genreflow.inference import load_classifier
from genreflow.models.index import load_index
from genreflow.plan import ConfigProblems, resolve_plan
from genreflow.plan.dataset import demo_track_ids
from genreflow.plan.features import resolved_excerpt
from genreflow.plan.models import TrainingPlan, run_settings
from genreflow.predictions import track_table
from genreflow.training import run as run_module
from genreflow.training.classical_data import array_data
from genreflow.training.job import Job
from genreflow.training.loop import FitResult
from genreflow.training.run import train_torch
from genreflow.training.run_classical import train_classical

from conftest import PROJECT_ROOT, only_models

SCHEMA = PROJECT_ROOT / "workflow" / "schemas" / "config.schema.yaml"
GENRES = ["blues", "jazz", "rock"]
CLIPS_PER_GENRE = 8
DIMENSIONS = 24


def demo_config(path, frame_seconds=None, inputs=("emb@clip",)) -> dict:
    """The default config on a small demo (3 genres × 8 clips), a precomputed set
    ``emb`` at ``path`` and the probes reading ``inputs``."""
    config = yaml.safe_load((PROJECT_ROOT / "config" / "config.yaml").read_text())
    config["dataset"]["genres"] = list(GENRES)
    config["demo"]["clips_per_genre"] = CLIPS_PER_GENRE
    config["features"]["sets"]["emb"] = {
        "kind": "precomputed",
        "path": str(path),
        "frame_seconds": frame_seconds,
    }
    for name in ("musicnn_svm", "musicnn_mlp", "embedding_forest_seed004", "marble_mlp"):
        config["models"][name] = {"enabled": True, "inputs": list(inputs)}
    return config


def track_ids() -> list[str]:
    return demo_track_ids(GENRES, CLIPS_PER_GENRE)


def embeddings(seed: int = 0, frames=(3, 5)) -> dict[str, np.ndarray]:
    """(frames, dimensions) per track, a genre's tracks around their genre's own mean
    (so a probe can learn them), frame counts that differ between tracks."""
    rng = np.random.default_rng(seed)
    centres = {genre: 3.0 * rng.standard_normal(DIMENSIONS) for genre in GENRES}
    arrays = {}
    for k, track_id in enumerate(track_ids()):
        genre = track_id.split(".")[0]
        n = frames[k % len(frames)]
        arrays[track_id] = (centres[genre] + rng.standard_normal((n, DIMENSIONS))).astype(
            np.float32
        )
    return arrays


def write_folder(folder, arrays):
    folder.mkdir(parents=True, exist_ok=True)
    for track_id, array in arrays.items():
        np.save(folder / f"{track_id}.npy", array)
    return folder


def write_npz(path, arrays):
    np.savez(path, **arrays)
    return path


@pytest.fixture(autouse=True)
def in_project(monkeypatch):
    monkeypatch.chdir(PROJECT_ROOT)


def problems_of(config) -> list[str]:
    with pytest.raises(ConfigProblems) as info:
        resolve_plan(config, SCHEMA)
    return info.value.problems


# ---- the plan ----------------------------------------------------------------------


def test_the_plan_knows_the_demos_track_ids_without_pandas():
    numbers = track_numbers(CLIPS_PER_GENRE)
    assert track_ids() == [f"{g}.{n:05d}" for g in GENRES for n in numbers]


@pytest.mark.parametrize("layout", ["folder", "npz"])
def test_every_probe_accepts_a_precomputed_set(tmp_path, layout):
    arrays = embeddings()
    path = (
        write_folder(tmp_path / "emb", arrays)
        if layout == "folder"
        else write_npz(tmp_path / "emb.npz", arrays)
    )
    plan = resolve_plan(demo_config(path), SCHEMA)
    assert plan.precomputed_sets == ("emb",) and plan.embedding_sets == ("musicnn",)
    for name in ("musicnn_svm", "musicnn_mlp", "embedding_forest_seed004", "marble_mlp"):
        assert plan.models[name].inputs == ("emb@clip",)
    assert "emb@clip" in plan.arrays
    # a probe on it is not explained: no audio can be featurised into its input
    assert "marble_mlp" in plan.torch_models and "marble_mlp" not in plan.explained_models
    # MARBLE's figure beside ours, unless the config gives the encoder's
    assert plan.models["marble_mlp"].published["source"] == "MARBLE v1"


def test_a_set_with_a_frame_length_is_cut_into_segments(tmp_path):
    path = write_folder(tmp_path / "emb", embeddings())
    problems = problems_of(demo_config(path, inputs=("emb@s3",)))
    assert len(problems) == 4  # one per probe, each naming the set's frame_seconds
    assert problems[0].startswith("models.")
    assert "features.sets.emb.frame_seconds is null" in problems[0]
    assert "emb@clip" in problems[0]
    plan = resolve_plan(demo_config(path, frame_seconds=1.0, inputs=("emb@s3",)), SCHEMA)
    assert "emb@s3" in plan.arrays


def one_problem(config) -> str:
    (problem,) = problems_of(config)
    assert "\n" not in problem
    assert problem.startswith("features.sets.emb.path: ")
    return problem


def test_a_missing_path_is_one_line(tmp_path):
    problem = one_problem(demo_config(tmp_path / "nowhere.npz"))
    assert "does not exist" in problem and "<track_id>.npy" in problem


@pytest.mark.parametrize("layout", ["folder", "npz"])
def test_a_missing_track_is_one_line_naming_it(tmp_path, layout):
    arrays = embeddings()
    gone = track_ids()[3]
    del arrays[gone]
    path = (
        write_folder(tmp_path / "emb", arrays)
        if layout == "folder"
        else write_npz(tmp_path / "emb.npz", arrays)
    )
    problem = one_problem(demo_config(path))
    assert f"1 of the {len(track_ids())} tracks of dataset demo has no embedding" in problem
    assert gone in problem and "dataset.subset" in problem


@pytest.mark.parametrize("layout", ["folder", "npz"])
def test_two_dimensionalities_are_one_line(tmp_path, layout):
    arrays = embeddings()
    odd = track_ids()[5]
    arrays[odd] = arrays[odd][:, :-1]
    path = (
        write_folder(tmp_path / "emb", arrays)
        if layout == "folder"
        else write_npz(tmp_path / "emb.npz", arrays)
    )
    problem = one_problem(demo_config(path))
    assert "2 dimensionalities" in problem
    assert f"{DIMENSIONS}: {len(track_ids()) - 1} tracks" in problem
    assert f"{DIMENSIONS - 1}: 1 tracks, e.g. {odd}" in problem


@pytest.mark.parametrize("layout", ["folder", "npz"])
def test_a_nan_is_one_line_naming_the_file(tmp_path, layout):
    arrays = embeddings()
    bad = track_ids()[7]
    arrays[bad][1, 2] = np.nan
    path = (
        write_folder(tmp_path / "emb", arrays)
        if layout == "folder"
        else write_npz(tmp_path / "emb.npz", arrays)
    )
    problem = one_problem(demo_config(path))
    assert "holds NaN" in problem and "frame 1" in problem
    expected = f"emb/{bad}.npy" if layout == "folder" else f"emb.npz[{bad}]"
    assert expected in problem


def test_a_precomputed_set_beside_augmented_inputs_is_refused(tmp_path):
    config = demo_config(write_folder(tmp_path / "emb", embeddings()))
    config["augment"]["enabled"] = True
    config["models"]["bilstm_seed004"]["inputs"] = ["mfcc@s3", "emb@s3"]
    config["features"]["sets"]["emb"]["frame_seconds"] = 1.0
    (problem,) = problems_of(config)
    assert problem.startswith("models.bilstm_seed004.inputs: emb (precomputed)")


def test_a_library_is_not_classified_by_a_model_on_a_precomputed_set(tmp_path):
    config = demo_config(write_folder(tmp_path / "emb", embeddings()))
    config["final"]["models"] = ["marble_mlp"]
    config["classify"]["library"] = str(tmp_path)
    (problem,) = problems_of(config)
    assert problem.startswith("classify.model: marble_mlp reads precomputed embeddings")


# ---- the import job, consolidation and the probes ----------------------------------


def settings_of(path, frame_seconds=None) -> FeatureSettings:
    config = demo_config(path, frame_seconds)
    block = {
        **config["features"],
        "clip_seconds": 6.0,
        "excerpt": resolved_excerpt(config["features"]["excerpt"], 6.0),
    }
    return FeatureSettings.from_dict(block), block


def tracks() -> pd.DataFrame:
    ids = track_ids()
    return pd.DataFrame(
        {"track_id": ids, "source_track_id": ids, "genre": [i.split(".")[0] for i in ids]}
    )


def folds_of() -> pd.DataFrame:
    """One fold: per genre 4 train, 2 val, 2 test tracks."""
    roles = ["train"] * 4 + ["val"] * 2 + ["test"] * 2
    return pd.DataFrame({"track_id": track_ids(), "fold": 0, "role": roles * len(GENRES)})


@pytest.fixture(scope="module", params=["folder", "npz"])
def imported(request, tmp_path_factory):
    """A precomputed set imported and consolidated as the workflow does it."""
    root = tmp_path_factory.mktemp(f"precomputed_{request.param}")
    arrays = embeddings()
    path = (
        write_folder(root / "emb", arrays)
        if request.param == "folder"
        else write_npz(root / "emb.npz", arrays)
    )
    settings, block = settings_of(path, frame_seconds=1.0)
    table, record = import_precomputed(tracks(), settings, "emb", root / "features")
    (root / "emb.json").write_text(json.dumps(record))
    consolidated = {}
    for segments in ("clip", "s3"):
        segmentation = segmentations(block["segments"])[segments]
        array, index = root / f"emb@{segments}.npy", root / f"emb@{segments}.index.csv"
        consolidate_feature(table, "emb", segmentation, settings, array, index)
        consolidated[segments] = (str(array), str(index))
    return {
        "root": root,
        "arrays": arrays,
        "path": path,
        "table": table,
        "record": record,
        "block": block,
        "consolidated": consolidated,
    }


def test_the_import_copies_each_track_as_dimensions_by_frames(imported):
    table, arrays = imported["table"], imported["arrays"]
    assert list(table.track_id) == track_ids()
    for row in table.itertuples():
        matrix = np.load(row.emb)
        np.testing.assert_array_equal(matrix, arrays[row.track_id].T)
        assert row.n_frames == arrays[row.track_id].shape[0]
    record = imported["record"]
    assert record["dimensions"] == DIMENSIONS and record["n_tracks"] == len(track_ids())
    assert record["checksum"] == PrecomputedSource.of(imported["path"]).digest(track_ids())
    assert record["checksum"].startswith("sha256:")


def test_clip_is_the_mean_of_the_frames_and_segments_are_cut_in_frames(imported):
    array, index = imported["consolidated"]["clip"]
    clip, table = np.load(array), pd.read_csv(index, dtype={"track_id": str})
    assert clip.shape == (len(track_ids()), DIMENSIONS, 1)
    for row, track_id in enumerate(table.track_id):
        np.testing.assert_allclose(
            clip[row, :, 0], imported["arrays"][track_id].mean(axis=0), rtol=1e-5
        )
    s3 = np.load(imported["consolidated"]["s3"][0])
    # frame_seconds 1.0: 3 s segments of 3 frames; a 5-frame track gives one
    assert s3.shape == (len(track_ids()), DIMENSIONS, 3)


def test_the_import_job_names_a_nan_track_and_file(imported, tmp_path):
    arrays = copy.deepcopy(imported["arrays"])
    bad = track_ids()[2]
    arrays[bad][0, 0] = np.inf
    settings, _ = settings_of(write_folder(tmp_path / "emb", arrays))
    with pytest.raises(DataError) as info:
        import_precomputed(tracks(), settings, "emb", tmp_path / "features")
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"features.sets.emb: track {bad}: ")
    assert f"emb/{bad}.npy holds infinite values" in message


TRAINING = TrainingPlan("cpu", amp=False, repeats=(0,), threads=1, max_epochs=None, gpu_mem_mb=0)


def outputs(root, model, artifact):
    folder = root / model
    names = {"model": artifact, "history": "history.json", "config": "config.json"}
    return folder, {
        **{k: str(folder / v) for k, v in names.items()},
        "timing": str(folder / "t.json"),
    }


def test_the_svm_probe_trains_and_predicts_on_a_precomputed_set(imported):
    root, block = imported["root"], imported["block"]
    settings = run_settings(load_index()["musicnn_svm"], ("emb@clip",), {}, {}, TRAINING, "svm")
    folder, files = outputs(root, "musicnn_svm", "model.joblib")
    data = array_data(*imported["consolidated"]["clip"])
    manifest = tracks().assign(status="ok")
    train_classical(
        Job("demo", "stratified_kfold", "musicnn_svm", 0, 0, files),
        settings=settings,
        features=block,
        data=data,
        folds=folds_of(),
        manifest=manifest,
        precomputed=read_records([root / "emb.json"]),
    )
    record = json.loads((folder / "config.json").read_text())
    assert record["input_shape"] == [DIMENSIONS, 1]  # the data's, not musicnn's 753
    assert record["sample_rates"]["emb"] is None
    assert record["embeddings"]["emb"]["checksum"] == imported["record"]["checksum"]
    segments, genres = predict_classical_fold(
        folder / "model.joblib", data=data, folds=folds_of(), fold=0
    )
    predicted = track_table(segments, genres)
    assert len(predicted) == 2 * len(GENRES)
    assert (predicted["genre"] == predicted["predicted"]).all()
    with pytest.raises(DataError, match="reads precomputed embeddings \\(emb, from"):
        load_classifier(folder)


def test_marble_mlp_trains_and_predicts_on_a_precomputed_set(imported):
    root, block = imported["root"], imported["block"]
    settings = run_settings(
        load_index()["marble_mlp"],
        ("emb@clip",),
        {},
        {"epochs": 15, "lr_grid": [1e-4, 1e-2]},
        TRAINING,
        "marble_mlp",
    )
    folder, files = outputs(root, "marble_mlp", "model.pt")
    array, index = imported["consolidated"]["clip"]
    history = train_torch(
        Job("demo", "stratified_kfold", "marble_mlp", 0, 0, files),
        settings=settings,
        features=block,
        arrays=[array],
        indexes=[index],
        folds=folds_of(),
        manifest=tracks().assign(status="ok"),
        precomputed=read_records([root / "emb.json"]),
    )
    assert [r["lr"] for r in history["lr_search"]] == [1e-4, 1e-2]
    best = max(history["lr_search"], key=lambda r: r["val_track_accuracy"])
    assert history["selected_lr"] in [
        r["lr"]
        for r in history["lr_search"]
        if r["val_track_accuracy"] == best["val_track_accuracy"]
    ]
    assert not list(folder.glob(".checkpoint*"))
    record = json.loads((folder / "config.json").read_text())
    assert record["input_shapes"] == [[DIMENSIONS, 1]]
    assert record["selected_lr"] == history["selected_lr"]
    segments, genres = predict_torch_fold(
        folder / "model.pt",
        arrays=[array],
        indexes=[index],
        folds=folds_of(),
        fold=0,
        device=torch.device("cpu"),
    )
    predicted = track_table(segments, genres)
    assert (predicted["genre"] == predicted["predicted"]).mean() >= 5 / 6


# ---- MARBLE's learning-rate search ------------------------------------------------


def test_marble_mlp_picks_its_learning_rate_by_validation(imported, monkeypatch):
    """Each rate's run scores as scripted: the best val track accuracy wins, a tie goes
    to the lower val loss, and the saved model is the selected run's."""
    scores = {  # lr: (val_track_accuracy, val_loss) of its best epoch
        1e-4: (0.50, 0.9),
        5e-4: (0.83, 0.7),
        1e-3: (0.67, 0.2),
        5e-3: (0.83, 0.4),  # ties 5e-4 on accuracy, lower loss: selected
        1e-2: (0.33, 1.5),
    }
    trained = []

    def scripted_fit(model, splits, normalizer, params, **kwargs):
        assert params.lr_grid is None  # each run trains at one rate
        trained.append(params.lr)
        accuracy, loss = scores[params.lr]
        for parameter in model.parameters():
            parameter.data.fill_(params.lr)  # marks which run's weights are saved
        entry = {"epoch": 1, "val_track_accuracy": accuracy, "val_loss": loss}
        return FitResult(history=[{**entry, "val_accuracy": accuracy}], best_epoch=1)

    monkeypatch.setattr(run_module, "fit", scripted_fit)
    root, block = imported["root"], imported["block"]
    settings = run_settings(load_index()["marble_mlp"], ("emb@clip",), {}, {}, TRAINING, "m")
    assert settings.train.lr_grid == (1e-4, 5e-4, 1e-3, 5e-3, 1e-2)  # MARBLE's grid
    folder, files = outputs(root, "scripted", "model.pt")
    array, index = imported["consolidated"]["clip"]
    history = train_torch(
        Job("demo", "stratified_kfold", "marble_mlp", 0, 0, files),
        settings=settings,
        features=block,
        arrays=[array],
        indexes=[index],
        folds=folds_of(),
        manifest=tracks().assign(status="ok"),
    )
    assert trained == [1e-4, 5e-4, 1e-3, 5e-3, 1e-2]
    assert history["selected_lr"] == 5e-3
    assert [r["val_track_accuracy"] for r in history["lr_search"]] == [
        scores[lr][0] for lr in trained
    ]
    saved = torch.load(folder / "model.pt", weights_only=True)
    assert saved["train"]["lr"] == 5e-3
    weights = saved["state_dict"]["classifier.0.weight"]
    assert torch.allclose(weights, torch.full_like(weights, 5e-3))


def test_the_learning_rate_grid_is_checked_and_not_swept_over(tmp_path):
    config = demo_config(write_folder(tmp_path / "emb", embeddings()))
    config["models"]["marble_mlp"]["train"] = {"lr_grid": [1e-3, -1]}
    (problem,) = problems_of(config)
    assert problem == "models.marble_mlp.train.lr_grid: -1 is not a positive learning rate"
    config["models"]["marble_mlp"]["train"] = {}
    config["sweeps"]["models"] = {"marble_mlp": {"grid": {"lr": [1e-3, 1e-2]}}}
    (problem,) = problems_of(config)
    assert problem.startswith("sweeps.models.marble_mlp: lr is swept, but marble_mlp searches")
    config["models"]["marble_mlp"]["train"] = {"lr_grid": None}
    plan = resolve_plan(config, SCHEMA)
    assert len(plan.sweeps["marble_mlp"].points) == 2


# ---- the workflow ------------------------------------------------------------------


@pytest.mark.integration
def test_the_workflow_imports_a_precomputed_set_instead_of_decoding_audio(tmp_path):
    """A dry run: rule import_precomputed feeds consolidation and the probes, no
    extract_embeddings job runs, and a missing track stops Snakemake with one line."""
    from workflow_runner import copy_project, snakemake, write_config

    project = copy_project(tmp_path / "project")
    arrays = embeddings()
    path = write_npz(tmp_path / "emb.npz", arrays)
    models = only_models(["musicnn_svm", "marble_mlp"])
    for name in ("musicnn_svm", "marble_mlp"):
        models[name]["inputs"] = ["emb@clip"]
    config = {
        "dataset": {"genres": GENRES},
        "demo": {"clips_per_genre": CLIPS_PER_GENRE},
        "features": {
            "consolidate": ["emb@clip"],
            "sets": {"emb": {"kind": "precomputed", "path": str(path), "frame_seconds": None}},
        },
        "final": {"models": ["marble_mlp"]},
        "explain": {"tracks_per_fold": 0},
        "models": models,
    }
    result = snakemake(project, "-n", "--configfile", str(write_config(project, config)))
    out = result.stdout
    assert "rule import_precomputed:" in out and "rule extract_embeddings:" not in out
    assert "results/features/demo/precomputed/emb.json" in out
    assert "results/features/demo/consolidated/emb@clip.npy" in out
    assert "results/models/demo/stratified_kfold/marble_mlp/seed0/fold0/model.pt" in out
    del arrays[track_ids()[0]]
    write_npz(path, arrays)
    failed = snakemake(
        project, "-n", "--configfile", str(write_config(project, config)), check=False
    )
    assert failed.returncode != 0
    assert (
        f"Invalid configuration: features.sets.emb.path: 1 of the {len(track_ids())} tracks "
        f"of dataset demo has no embedding in {path} ({track_ids()[0]})"
    ) in failed.stdout + failed.stderr
