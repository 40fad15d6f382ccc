# Final models: each selected model trained on every usable track (a small val share
# for early stopping only), with the first seed of training.repeats, and a model card;
# what `genreflow predict` loads.


rule final_split:
    input:
        manifest=MANIFEST,
        duplicates=DUPLICATES,
    output:
        split=FINAL_SPLIT,
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
        seed=PLAN.folds.seed,
        val_fraction=config["final"]["val_fraction"],
    script:
        "../../scripts/final_split.py"


use rule train_torch as train_final_torch with:
    input:
        unpack(model_inputs),
        folds=FINAL_SPLIT,
        manifest=MANIFEST,
    output:
        model=f"{FINAL}/model.pt",
        history=f"{FINAL}/history.json",
        config=f"{FINAL}/config.json",
        timing=f"{FINAL}/timing.json",
    log:
        "results/logs/{dataset}/final/{model}.log",
    benchmark:
        "results/benchmarks/{dataset}/final/{model}.tsv"
    params:
        seed=PLAN.first_seed,


use rule train_classical as train_final_classical with:
    input:
        unpack(model_inputs),
        folds=FINAL_SPLIT,
        manifest=MANIFEST,
    output:
        model=f"{FINAL}/model.joblib",
        history=f"{FINAL}/history.json",
        config=f"{FINAL}/config.json",
        timing=f"{FINAL}/timing.json",
    log:
        "results/logs/{dataset}/final/{model}.log",
    benchmark:
        "results/benchmarks/{dataset}/final/{model}.tsv"
    params:
        seed=PLAN.first_seed,


rule model_card:
    input:
        unpack(final_artifacts),
        summaries=expand(f"{REPORT}/summary.csv", scheme=PLAN.schemes, allow_missing=True),
        metrics=model_run_metrics,
        manifest=MANIFEST,
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
        claim=lambda wildcards: MODEL_CLAIMS[wildcards.model],
        # the folder `genreflow predict --model` loads
        model_dir=lambda wildcards: FINAL.format(**wildcards),
        # the fold scheme of each of input.summaries
        schemes=list(PLAN.schemes),
    script:
        "../../scripts/model_card.py"
