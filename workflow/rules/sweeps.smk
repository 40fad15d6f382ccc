# Hyperparameter sweeps: each point (a hash of its resolved arch and train settings)
# trains on every fold of the sweep's scheme with every seed; the report selects on
# validation track accuracy and tests the selected point once.


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
        points=sweep_points,
        swept=lambda wildcards: list(PLAN.sweeps[wildcards.model].swept),
    script:
        "../../scripts/sweep_points.py"


use rule train_torch as train_sweep_torch with:
    input:
        unpack(model_inputs),
        folds=FOLDS,
        manifest=MANIFEST,
    output:
        model=f"{SWEEP_POINT}/model.pt",
        history=f"{SWEEP_POINT}/history.json",
        config=f"{SWEEP_POINT}/config.json",
        timing=f"{SWEEP_POINT}/timing.json",
    log:
        "results/logs/{dataset}/sweeps/{scheme}/{model}/{point}/seed{seed}/fold{fold}.log",
    benchmark:
        "results/benchmarks/{dataset}/sweeps/{scheme}/{model}/{point}/seed{seed}/fold{fold}.tsv"
    params:
        run=sweep_point,


use rule train_classical as train_sweep_classical with:
    input:
        unpack(model_inputs),
        folds=FOLDS,
        manifest=MANIFEST,
    output:
        model=f"{SWEEP_POINT}/model.joblib",
        history=f"{SWEEP_POINT}/history.json",
        config=f"{SWEEP_POINT}/config.json",
        timing=f"{SWEEP_POINT}/timing.json",
    log:
        "results/logs/{dataset}/sweeps/{scheme}/{model}/{point}/seed{seed}/fold{fold}.log",
    benchmark:
        "results/benchmarks/{dataset}/sweeps/{scheme}/{model}/{point}/seed{seed}/fold{fold}.tsv"
    params:
        run=sweep_point,


rule sweep_report:
    input:
        unpack(model_inputs),
        points=f"{SWEEP}/points.csv",
        histories=sweep_point_files("history.json"),
        models=sweep_point_files("model"),
        folds=FOLDS,
        default_metrics=sweep_default_files("metrics.json"),
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
        # (point, seed, fold) of each of input.histories and input.models
        point_runs=sweep_point_keys,
        swept=lambda wildcards: list(PLAN.sweeps[wildcards.model].swept),
        default_point=lambda wildcards: PLAN.sweeps[wildcards.model].default_point,
    script:
        "../../scripts/sweep_report.py"
