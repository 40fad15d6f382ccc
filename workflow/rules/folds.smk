# Fold assignment: which tracks train, validate and test in each fold of a scheme.


rule assign_folds:
    input:
        manifest=MANIFEST,
        registry=dataset_registry(),
    output:
        folds=FOLDS,
        summary="results/folds/{dataset}/{scheme}.summary.csv",
    log:
        "results/logs/{dataset}/folds/{scheme}.log",
    benchmark:
        "results/benchmarks/{dataset}/folds/{scheme}.tsv"
    conda:
        "../../envs/features.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        n_folds=config["folds"]["n_folds"],
        val_fraction=config["folds"]["val_fraction"],
        seed=config["folds"]["seed"],
        holdout=config["folds"]["holdout"],
    script:
        "../../scripts/assign_folds.py"
