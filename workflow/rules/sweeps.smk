# Hyperparameter sweeps: each point (a hash of its resolved train settings) trains on
# every fold of the sweep's scheme; the report selects on validation and tests once.


rule sweep_points:
    output:
        points=f"{SWEEP}/points.csv",
    log:
        "results/logs/{dataset}/sweeps/{scheme}/{model}/points.log",
    benchmark:
        "results/benchmarks/{dataset}/sweeps/{scheme}/{model}/points.tsv"
    conda:
        "../../envs/training.yaml"
    resources:
        mem_mb=500,
        runtime=5,
    params:
        rows=lambda wildcards: sweep_rows(wildcards.model),
    script:
        "../../scripts/sweep_points.py"


use rule train_torch as train_sweep_torch with:
    input:
        unpack(model_inputs),
        folds="results/folds/{dataset}/{scheme}.csv",
        manifest="results/data/{dataset}/manifest.csv",
    output:
        model=f"{SWEEP}/{{point}}/fold{{fold}}/model.pt",
        history=f"{SWEEP}/{{point}}/fold{{fold}}/history.json",
        config=f"{SWEEP}/{{point}}/fold{{fold}}/config.json",
    log:
        "results/logs/{dataset}/sweeps/{scheme}/{model}/{point}/fold{fold}.log",
    benchmark:
        "results/benchmarks/{dataset}/sweeps/{scheme}/{model}/{point}/fold{fold}.tsv"
    params:
        inputs=lambda wildcards: MODEL_INPUTS[wildcards.model],
        arch=lambda wildcards: config["models"][wildcards.model].get("arch", {}),
        train=lambda wildcards: SWEEPS[wildcards.model]["points"][wildcards.point],
        training=config["training"],
        features=TRAINED_FEATURES,
        # selection sees validation parts only; the report tests the selected point once
        roles=["train", "val"],


rule sweep_report:
    input:
        unpack(model_inputs),
        points=f"{SWEEP}/points.csv",
        histories=lambda wildcards: sweep_point_files(wildcards, "history.json"),
        models=lambda wildcards: sweep_point_files(wildcards, "model.pt"),
        folds="results/folds/{dataset}/{scheme}.csv",
        default_metrics=lambda wildcards: [
            f"{EVAL}/metrics.json".format(**wildcards, fold=fold)
            for fold in folds_of(config, wildcards.scheme)
        ],
    output:
        summary=report(
            f"{SWEEP}/report/summary.csv",
            caption="../report/sweep.rst",
            category="Sweeps",
            labels={"model": "{model}", "item": "every point"},
        ),
        markdown=f"{SWEEP}/report/summary.md",
        selected=f"{SWEEP}/report/selected.json",
        figure=report(
            f"{SWEEP}/report/accuracy_by_hyperparameter.png",
            caption="../report/sweep.rst",
            category="Sweeps",
            labels={"model": "{model}", "item": "accuracy by hyperparameter"},
        ),
    log:
        "results/logs/{dataset}/sweeps/{scheme}/{model}/report.log",
    benchmark:
        "results/benchmarks/{dataset}/sweeps/{scheme}/{model}/report.tsv"
    conda:
        "../../envs/evaluation.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        folds=lambda wildcards: folds_of(config, wildcards.scheme),
        swept=lambda wildcards: SWEEPS[wildcards.model]["swept"],
        default_point=lambda wildcards: SWEEPS[wildcards.model]["default"],
        sweep_dir=lambda wildcards: SWEEP.format(**wildcards),
    script:
        "../../scripts/sweep_report.py"
