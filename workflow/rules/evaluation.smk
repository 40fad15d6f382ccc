# Evaluation: every trained run (model, seed, fold), reloaded from disk, on its fold's
# test part; then one aggregated report per fold scheme.


rule evaluate_torch:
    input:
        unpack(model_inputs),
        model=f"{MODEL_DIR}/model.pt",
        history=f"{MODEL_DIR}/history.json",
        folds=FOLDS,
    output:
        predictions=f"{EVAL}/predictions.csv",
        tracks=f"{EVAL}/track_predictions.csv",
        metrics=f"{EVAL}/metrics.json",
        confusion=fold_figure("confusion", "fold_confusion"),
        learning_curves=fold_figure("learning_curves", "learning_curves"),
    log:
        "results/logs/{dataset}/eval/{scheme}/{model}/seed{seed}/fold{fold}.log",
    benchmark:
        "results/benchmarks/{dataset}/eval/{scheme}/{model}/seed{seed}/fold{fold}.tsv"
    wildcard_constraints:
        model=TORCH_MODEL_PATTERN,
    # before the explanations, which nothing downstream waits for
    priority: 1
    conda:
        "../../envs/evaluation.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        device=config["evaluation"]["device"],
    script:
        "../../scripts/evaluate_torch.py"


rule evaluate_classical:
    input:
        unpack(model_inputs),
        model=f"{MODEL_DIR}/model.joblib",
        folds=FOLDS,
    output:
        predictions=f"{EVAL}/predictions.csv",
        tracks=f"{EVAL}/track_predictions.csv",
        metrics=f"{EVAL}/metrics.json",
        confusion=fold_figure("confusion", "fold_confusion"),
    log:
        "results/logs/{dataset}/eval/{scheme}/{model}/seed{seed}/fold{fold}.log",
    benchmark:
        "results/benchmarks/{dataset}/eval/{scheme}/{model}/seed{seed}/fold{fold}.tsv"
    wildcard_constraints:
        model=CLASSICAL_MODEL_PATTERN,
    priority: 1
    conda:
        "../../envs/evaluation.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../../scripts/evaluate_classical.py"


rule aggregate_report:
    input:
        metrics=scheme_runs(f"{EVAL}/metrics.json"),
        tracks=scheme_runs(f"{EVAL}/track_predictions.csv"),
        histories=scheme_runs(f"{MODEL_DIR}/history.json"),
        configs=scheme_runs(f"{MODEL_DIR}/config.json"),
        timings=scheme_runs(f"{MODEL_DIR}/timing.json"),
        manifest=MANIFEST,
        duplicates=DUPLICATES,
        leakage="results/folds/{dataset}/{scheme}.leakage.json",
        registry=dataset_registry(),
        environment=ENVIRONMENT,
    output:
        summary=scheme_output("summary.csv", "summary", "summary table"),
        markdown=f"{REPORT}/summary.md",
        comparisons=scheme_output("comparisons.csv", "comparisons", "paired tests"),
        runs=f"{REPORT}/runs.csv",
        per_genre_f1=f"{REPORT}/per_genre_f1.csv",
        timing=f"{REPORT}/timing.csv",
        accuracy_png=scheme_output("figures/accuracy.png", "accuracy", "accuracy"),
        runs_png=scheme_output("figures/runs.png", "runs", "accuracy of every run"),
        per_genre_f1_png=scheme_output("figures/per_genre_f1.png", "per_genre_f1", "per-genre F1"),
        confusions_png=scheme_output("figures/confusions.png", "confusions", "confusion matrices"),
        confusion_pairs_png=scheme_output(
            "figures/confusion_pairs.png", "confusion_pairs", "confused pairs"
        ),
    log:
        "results/logs/{dataset}/report/{scheme}.log",
    benchmark:
        "results/benchmarks/{dataset}/report/{scheme}.tsv"
    conda:
        "../../envs/report.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        models=MODEL_CLAIMS,
        seed=config["evaluation"]["seed"],
        deterministic=[name for name, model in MODELS.items() if model.deterministic],
    script:
        "../../scripts/aggregate_report.py"
