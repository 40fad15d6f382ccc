# Fold assignment: which tracks train, validate and test in each fold of a scheme.


rule assign_folds:
    input:
        manifest=MANIFEST,
        registry=dataset_registry(),
        duplicates=DUPLICATES,
    output:
        folds=FOLDS,
        summary="results/folds/{dataset}/{scheme}.summary.csv",
        leakage="results/folds/{dataset}/{scheme}.leakage.json",
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
        # n_folds, val_fraction, seed, the checked holdout ratios, artist_coverage
        folds=PLAN.folds.to_dict(),
    script:
        "../../scripts/assign_folds.py"
