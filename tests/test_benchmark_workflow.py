"""python -m benchmarks.workflow: benchmark files summed per rule."""

from __future__ import annotations

import io
import re

import pandas as pd
import pytest

from benchmarks.workflow import (
    RULES_DIR,
    main,
    read_benchmarks,
    rule_of,
    rule_patterns,
    summarise,
)

HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def write_benchmark(folder, relative, seconds, cpu, rss):
    path = folder / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + f"{seconds}\t0:00:00\t{rss}\t0\t0\t0\t0\t0\t0\t{cpu}\n")


def test_every_rule_with_a_benchmark_has_a_pattern():
    declared = set()
    for path in RULES_DIR.glob("*.smk"):
        rule = None
        for line in path.read_text().splitlines():
            if match := re.match(
                r"^\s*(?:(?:rule|checkpoint) (\w+):|use rule \w+ as (\w+) with:)", line
            ):
                rule = match[1] or match[2]
            elif re.match(r"^\s*benchmark:", line):
                declared.add(rule)
    declared.discard("fetch_weights")  # shared by every dataset: results/benchmarks/weights/
    parsed = {pattern.rule for pattern in rule_patterns()}
    assert parsed == declared and len(parsed) > 25


@pytest.mark.parametrize(
    "relative, rule",
    [
        ("models/stratified_kfold/cnn_seed001/seed0/fold0.tsv", "train_torch"),
        ("models/stratified_kfold/logreg/seed0/fold1.tsv", "train_classical"),
        ("eval/holdout/musicnn_mlp/seed0/fold0.tsv", "evaluate_torch"),
        ("eval/holdout/musicnn_svm/seed0/fold0.tsv", "evaluate_classical"),
        ("final/hybrid_seed004.tsv", "train_final_torch"),
        ("final/embedding_forest_seed004.tsv", "train_final_classical"),
        ("final/hybrid_seed004.card.tsv", "model_card"),  # the more specific pattern
        ("features/shard000.tsv", "extract_features"),
        ("features/musicnn/shard003.tsv", "extract_embeddings"),
        ("features/consolidate_logmel@s3.tsv", "consolidate_features"),
        ("features/tables.tsv", "feature_tables"),
        ("publish_demo.tsv", "publish_demo"),
        ("library/My_Music/list.tsv", "list_library"),  # a checkpoint
        ("library/My_Music/parts/00012.tsv", "classify_shard"),
        ("library/My_Music/summary.tsv", "summarise_library"),
        ("sweeps/stratified_kfold/cnn_seed001/0123456789/seed1/fold0.tsv", "train_sweep_torch"),
        ("sweeps/stratified_kfold/logreg/0123456789/seed0/fold1.tsv", "train_sweep_classical"),
        ("nothing/of/ours.tsv", "?"),
    ],
)
def test_files_map_to_their_rules(relative, rule):
    families = {"cnn_seed001": "torch", "musicnn_mlp": "torch", "hybrid_seed004": "torch"}
    families |= {"logreg": "sklearn", "musicnn_svm": "sklearn"}
    families["embedding_forest_seed004"] = "sklearn"
    assert rule_of(relative, rule_patterns(), families) == rule


def test_the_summary_sums_per_rule(tmp_path, capsys):
    write_benchmark(tmp_path, "models/s/cnn_seed001/seed0/fold0.tsv", 60.0, 50.0, 900.0)
    write_benchmark(tmp_path, "models/s/cnn_seed001/seed0/fold1.tsv", 40.0, 30.0, 1100.0)
    write_benchmark(tmp_path, "models/s/logreg/seed0/fold0.tsv", 10.0, 8.0, 300.0)
    write_benchmark(tmp_path, "features/shard000.tsv", 20.0, 20.0, 200.0)
    summary = summarise(read_benchmarks(tmp_path)).set_index("rule")
    train = summary.loc["train_torch"]
    assert (train["jobs"], train["job_s"], train["mean_s"]) == (2, 100.0, 50.0)
    assert train["cpu_s"] == 80.0 and train["cpu_share"] == pytest.approx(0.8)
    assert train["peak_rss_mb"] == 1100.0 and train["share"] == pytest.approx(100 / 130)
    assert summary.index[0] == "train_torch" and summary.index[-1] == "total"
    assert summary.loc["total", "jobs"] == 4 and summary.loc["total", "job_s"] == 130.0
    assert main([str(tmp_path)]) == 0
    table = capsys.readouterr().out
    assert "| `train_torch` | 2 | 100 | 50.0 | 80 | 0.80 | 1,100 | 76.9% |" in table
    assert main([str(tmp_path), "--format", "csv"]) == 0
    csv = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert list(csv["rule"])[-1] == "total"


def test_an_empty_folder_is_named(tmp_path, capsys):
    assert main([str(tmp_path)]) == 2
    assert str(tmp_path) in capsys.readouterr().err


def test_every_job_of_a_run_has_its_rule(tiny_demo):
    project, _, _ = tiny_demo
    jobs = read_benchmarks(project / "results/benchmarks/demo")
    assert not (jobs["rule"] == "?").any(), jobs.loc[jobs["rule"] == "?", "path"].tolist()
    rules = set(jobs["rule"])
    assert {"train_torch", "train_classical", "evaluate_torch", "model_card", "explain"} <= rules
