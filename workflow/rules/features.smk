# Feature stage: (augment) → extract_features per shard → consolidate → tables.


rule augment:
    input:
        manifest="results/data/{dataset}/manifest.csv",
        kernels=KERNELS,
    output:
        table="results/data/{dataset}/augmented/shard{shard}.csv",
    log:
        "results/logs/{dataset}/augment/shard{shard}.log",
    benchmark:
        "results/benchmarks/{dataset}/augment/shard{shard}.tsv"
    conda:
        "../../envs/features.yaml"
    resources:
        mem_mb=2000,
        runtime=60,
    params:
        shard=lambda wildcards: int(wildcards.shard),
        n_shards=N_SHARDS,
        copies=config["augment"]["copies"],
        seed=config["augment"]["seed"],
        sample_rate=config["features"]["sample_rate"],
    script:
        "../../scripts/augment.py"


rule extract_features:
    input:
        manifest="results/data/{dataset}/manifest.csv",
        augmented=augmented_shard_table,
        kernels=KERNELS,
    output:
        table="results/features/{dataset}/shards/shard{shard}.csv",
    log:
        "results/logs/{dataset}/features/shard{shard}.log",
    benchmark:
        "results/benchmarks/{dataset}/features/shard{shard}.tsv"
    conda:
        "../../envs/features.yaml"
    resources:
        mem_mb=2000,
        runtime=60,
    params:
        shard=lambda wildcards: int(wildcards.shard),
        n_shards=N_SHARDS,
        features=config["features"],
        clip_seconds=feature_clip_seconds(config),
        root=FEATURES,
    script:
        "../../scripts/extract_features.py"


rule feature_tables:
    input:
        shards=expand("results/features/{{dataset}}/shards/shard{shard}.csv", shard=SHARDS),
        kernels=KERNELS,
    output:
        tracks="results/features/{dataset}/tracks.csv",
        summary="results/features/{dataset}/gtzan_summary.csv",
    log:
        "results/logs/{dataset}/features/tables.log",
    benchmark:
        "results/benchmarks/{dataset}/features/tables.tsv"
    conda:
        "../../envs/features.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        summary_sets=[
            n for n, s in config["features"]["sets"].items() if s["kind"] == "gtzan_summary"
        ],
    script:
        "../../scripts/feature_tables.py"


rule consolidate_features:
    input:
        tracks="results/features/{dataset}/tracks.csv",
        kernels=KERNELS,
    output:
        array="results/features/{dataset}/consolidated/{feature}@{segments}.npy",
        index="results/features/{dataset}/consolidated/{feature}@{segments}.index.csv",
    log:
        "results/logs/{dataset}/features/consolidate_{feature}@{segments}.log",
    benchmark:
        "results/benchmarks/{dataset}/features/consolidate_{feature}@{segments}.tsv"
    conda:
        "../../envs/features.yaml"
    resources:
        mem_mb=4000,
        runtime=20,
    params:
        features=config["features"],
        clip_seconds=feature_clip_seconds(config),
    script:
        "../../scripts/consolidate_features.py"
