"""Integration: one training job per (scheme, model, seed, fold) in the tiny demo run
(see conftest)."""

import json

import pytest
import torch

from conftest import TINY_CLASSICAL, TINY_DEMO, TINY_MODELS

pytestmark = pytest.mark.integration

SCHEME_FOLDS = {"stratified_kfold": 2, "artist_kfold": 2, "holdout": 1, "fault_filtered": 1}


def test_one_job_per_scheme_model_seed_and_fold(tiny_demo):
    project, _, _ = tiny_demo
    root = project / "results/models/demo"
    for scheme, n_folds in SCHEME_FOLDS.items():
        for model in TINY_MODELS:
            artifact = "model.joblib" if model in TINY_CLASSICAL else "model.pt"
            assert [p.name for p in (root / scheme / model).iterdir()] == ["seed0"]
            folds = sorted(p.name for p in (root / scheme / model / "seed0").iterdir())
            assert folds == [f"fold{k}" for k in range(n_folds)]
            for fold in folds:
                out = root / scheme / model / "seed0" / fold
                names = {artifact, "history.json", "config.json", "timing.json"}
                assert {p.name for p in out.iterdir()} == names


def test_torch_artifacts(tiny_demo):
    project, _, _ = tiny_demo
    out = project / "results/models/demo/stratified_kfold/bilstm_seed004/seed0/fold1"
    history = json.loads((out / "history.json").read_text())
    config = json.loads((out / "config.json").read_text())
    assert len(history["epochs"]) == 1  # training.max_epochs
    assert config["inputs"] == ["mfcc@s3", "wavelet@s3"] and config["device"] == "cpu"
    assert config["train"]["grad_clip"] == 1.0  # the report's default, resolved
    saved = torch.load(out / "model.pt", weights_only=False)
    assert saved["model"] == "bilstm_seed004" and len(saved["genres"]) == 10
    assert "test" not in history  # scored by evaluation, from model.pt
    assert set(config["n_examples"]) == {"train", "val"}  # the test part never loaded


def test_torch_jobs_request_a_gpu(tiny_demo):
    project, config, _ = tiny_demo
    from workflow_runner import snakemake

    result = snakemake(project, "-n", "--forceall", "--configfile", str(config))
    text = result.stdout
    block = text[text.index("rule train_torch:") :].split("\n\n")[0]
    assert "gpu=1" in block


def test_classical_baseline_learns_the_demo(tiny_demo):
    project, _, _ = tiny_demo
    metrics = project / "results/eval/demo/holdout/logreg/seed0/fold0/metrics.json"
    assert json.loads(metrics.read_text())["track_accuracy"] > 0.3  # chance is 0.1


def dry_run_jobs(project, config) -> list[dict[str, str]]:
    """The jobs a dry run of ``config`` would run: rule and wildcards of each."""
    from workflow_runner import snakemake

    text = snakemake(project, "-n", "--configfile", str(config)).stdout
    jobs = []
    for block in text.split("\nrule ")[1:]:
        rule = block.split(":", 1)[0]
        wildcards = next(
            (line.split("wildcards:", 1)[1] for line in block.splitlines() if "wildcards:" in line),
            "",
        )
        pairs = [item.strip().split("=", 1) for item in wildcards.split(",") if "=" in item]
        jobs.append({"rule": rule, **dict(pairs)})
    return jobs


def test_a_second_seed_adds_only_its_runs_of_models_that_are_not_deterministic(tiny_demo):
    """training.repeats [0, 1] over the finished tiny run: every non-deterministic model
    trains once more per fold (and every sweep point with it); deterministic models, the
    first seed's runs, final models and explanations are not run again."""
    from workflow_runner import write_config

    project, _, _ = tiny_demo
    repeated = json.loads(json.dumps(TINY_DEMO))
    repeated["training"]["repeats"] = [0, 1]
    jobs = dry_run_jobs(project, write_config(project, repeated, "repeats01.yaml"))
    trained = [job for job in jobs if job["rule"].startswith("train")]
    assert {job.get("seed") for job in trained} == {"1"}  # no final model either
    assert {job["rule"] for job in trained} == {"train_torch", "train_sweep_torch"}
    torch_models = [m for m in TINY_MODELS if m not in TINY_CLASSICAL]
    runs = sorted(
        (j["scheme"], j["model"], j["fold"]) for j in trained if j["rule"] == "train_torch"
    )
    assert runs == sorted(
        (scheme, model, str(fold))
        for scheme, n_folds in SCHEME_FOLDS.items()
        for model in torch_models
        for fold in range(n_folds)
    )
    evaluated = [job for job in jobs if job["rule"].startswith("evaluate")]
    assert len(evaluated) == len(runs) and {job.get("seed") for job in evaluated} == {"1"}
    assert not [job for job in jobs if job["rule"] in ("explain", "train_final_torch")]


def test_every_jobs_record_is_what_the_plan_says(tiny_demo, monkeypatch):
    """What the plan resolves for each run (inputs, arch, train settings with
    training.max_epochs applied, seed) is what the job ran and recorded."""
    import yaml

    from genreflow.plan import resolve_plan

    project, config, _ = tiny_demo
    monkeypatch.chdir(project)

    def merge(base: dict, update: dict) -> dict:
        """``update`` over ``base`` key by key, as Snakemake merges ``--configfile``."""
        return {
            **base,
            **{
                key: merge(base[key], value)
                if isinstance(value, dict) and isinstance(base.get(key), dict)
                else value
                for key, value in update.items()
            },
        }

    default = yaml.safe_load((project / "config/config.yaml").read_text())
    plan = resolve_plan(merge(default, yaml.safe_load(config.read_text())))
    records = sorted((project / "results").glob("*/demo/**/config.json"))
    folds = sum(len(f) for f in plan.schemes.values())
    runs = sum(len(model.seeds) * folds for model in plan.models.values())
    sweep_folds = len(plan.schemes[plan.sweep_scheme])
    runs += sum(
        len(sweep.points) * len(plan.models[name].seeds) * sweep_folds
        for name, sweep in plan.sweeps.items()
    )
    assert len(records) == runs + len(plan.final_models)  # every run, final models, sweeps
    for path in records:
        record = json.loads(path.read_text())
        parts = path.relative_to(project / "results").parts
        model = plan.models[record["model"]]
        settings = model.run
        if parts[0] == "sweeps":  # sweeps/demo/<scheme>/<model>/<point>/seed<k>/fold<f>
            settings = plan.sweeps[record["model"]].points[parts[4]]
        assert record["inputs"] == list(settings.inputs), path
        assert record["arch"] == dict(settings.arch), path
        train = settings.train.as_dict() if settings.train is not None else None
        assert record["train"] == train, path
        assert record["repeat"] in model.seeds
        assert record["seed"] == record["repeat"] + 1000 * record["fold"]
        if record["train"] is not None and parts[0] != "sweeps":
            history = json.loads((path.parent / "history.json").read_text())
            assert len(history["epochs"]) <= record["train"]["epochs"] == 1  # max_epochs
