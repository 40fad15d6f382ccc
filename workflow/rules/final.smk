# Final models: each selected model trained on every usable track (a small val share
# for early stopping only), with a model card; what `genreflow predict` loads.


rule final_split:
    input:
        manifest="results/data/{dataset}/manifest.csv",
    output:
        split="results/final/{dataset}/split.csv",
    log:
        "results/logs/{dataset}/final/split.log",
    benchmark:
        "results/benchmarks/{dataset}/final/split.tsv"
    conda:
        "../../envs/features.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        seed=config["folds"]["seed"],
        val_fraction=config["final"]["val_fraction"],
    script:
        "../../scripts/final_split.py"


use rule train_torch as train_final_torch with:
    input:
        unpack(model_inputs),
        folds="results/final/{dataset}/split.csv",
        manifest="results/data/{dataset}/manifest.csv",
    output:
        model=f"{FINAL}/model.pt",
        history=f"{FINAL}/history.json",
        config=f"{FINAL}/config.json",
    log:
        "results/logs/{dataset}/final/{model}.log",
    benchmark:
        "results/benchmarks/{dataset}/final/{model}.tsv"


use rule train_classical as train_final_classical with:
    input:
        table="results/features/{dataset}/gtzan_summary.csv",
        folds="results/final/{dataset}/split.csv",
        manifest="results/data/{dataset}/manifest.csv",
    output:
        model=f"{FINAL}/model.joblib",
        history=f"{FINAL}/history.json",
        config=f"{FINAL}/config.json",
    log:
        "results/logs/{dataset}/final/{model}.log",
    benchmark:
        "results/benchmarks/{dataset}/final/{model}.tsv"


rule model_card:
    input:
        unpack(final_artifacts),
        summaries=expand(
            "results/report/{{dataset}}/{scheme}/summary.csv", scheme=config["folds"]["schemes"]
        ),
        metrics=model_fold_metrics,
        manifest="results/data/{dataset}/manifest.csv",
    output:
        card=report(
            f"{FINAL}/card.md",
            caption="../report/model_card.rst",
            category="Final models",
            labels={"model": "{model}"},
        ),
    log:
        "results/logs/{dataset}/final/{model}.card.log",
    benchmark:
        "results/benchmarks/{dataset}/final/{model}.card.tsv"
    conda:
        "../../envs/report.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        claims=MODEL_CLAIMS,
    script:
        "../../scripts/model_card.py"
