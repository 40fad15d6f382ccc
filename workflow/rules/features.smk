# Feature stage: (augment) → extract_features (STFT sets) and extract_embeddings
# (pretrained networks, one job per set and shard) and import_precomputed (embeddings
# computed elsewhere, one job per set) → tables → consolidate.


rule augment:
    input:
        manifest=MANIFEST,
        kernels=KERNELS,
    output:
        table=AUGMENTED_TABLE,
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
        n_shards=PLAN.n_shards,
        # where the augmented audio goes (the table lists it)
        folder=lambda wildcards: AUGMENTED.format(**wildcards),
        copies=config["augment"]["copies"],
        seed=config["augment"]["seed"],
        sample_rate=PLAN.features.sample_rate,
    script:
        "../../scripts/augment.py"


rule extract_features:
    input:
        manifest=MANIFEST,
        augmented=augmented_shard_table,
        kernels=KERNELS,
    output:
        table=SHARD_TABLE,
    log:
        "results/logs/{dataset}/features/shard{shard}.log",
    benchmark:
        "results/benchmarks/{dataset}/features/shard{shard}.tsv"
    conda:
        "../../envs/features.yaml"
    resources:
        mem_mb=2000,
        # minutes from the tracks a job holds (genreflow.plan.resources)
        runtime=FEATURE_RUNTIME,
    params:
        shard=lambda wildcards: int(wildcards.shard),
        n_shards=PLAN.n_shards,
        features=FEATURES_PLAN,
        root=here(FEATURES),
    script:
        "../../scripts/extract_features.py"


use rule download as fetch_weights with:
    input:
        [],
    output:
        WEIGHTS,
    log:
        "results/logs/weights/{file}.log",
    benchmark:
        "results/benchmarks/weights/{file}.tsv"
    params:
        source=lambda wildcards: weight_file(wildcards).source,
        checksum=lambda wildcards: weight_file(wildcards).checksum,
        config_key=lambda wildcards: weight_file(wildcards).key,
        allow_prefix=True,
        retries=config["download"]["retries"],
        timeout_s=config["download"]["timeout_s"],
        backoff_s=config["download"]["backoff_s"],


rule extract_embeddings:
    input:
        unpack(embedding_weights),
        manifest=MANIFEST,
        augmented=augmented_shard_table,
        kernels=KERNELS,
    output:
        table=EMBEDDING_SHARD_TABLE,
    log:
        "results/logs/{dataset}/features/{feature}/shard{shard}.log",
    benchmark:
        "results/benchmarks/{dataset}/features/{feature}/shard{shard}.tsv"
    wildcard_constraints:
        feature=EMBEDDING_SET_PATTERN,
    conda:
        "../../envs/embeddings.yaml"
    threads: config["embeddings"]["threads"]
    resources:
        gpu=1,
        mem_mb=4000,
        gpu_mem_mb=config["embeddings"]["gpu_mem_mb"],
        runtime=embedding_runtime,
    params:
        shard=lambda wildcards: int(wildcards.shard),
        n_shards=PLAN.n_shards,
        features=FEATURES_PLAN,
        root=here(FEATURES),
        device=config["embeddings"]["device"],
        batch_size=config["embeddings"]["batch_size"],
        # which inputs are the set's downloaded weights (parameter names)
        weights=lambda wildcards: list(embedding_weights(wildcards)),
    script:
        "../../scripts/extract_embeddings.py"


rule import_precomputed:
    input:
        manifest=MANIFEST,
        # the folder or .npz (its modification time: replacing files in a folder in
        # place needs --forcerun import_precomputed)
        source=precomputed_source,
        # its modules import librosa (the feature settings), whose kernels compile on import
        kernels=KERNELS,
    output:
        table=PRECOMPUTED_TABLE,
        record=PRECOMPUTED_RECORD,
    log:
        "results/logs/{dataset}/features/{feature}/import.log",
    benchmark:
        "results/benchmarks/{dataset}/features/{feature}/import.tsv"
    wildcard_constraints:
        feature=PRECOMPUTED_SET_PATTERN,
    conda:
        "../../envs/features.yaml"
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        features=FEATURES_PLAN,
        root=here(FEATURES),
    script:
        "../../scripts/import_precomputed.py"


rule feature_tables:
    input:
        shards=expand(SHARD_TABLE, shard=SHARDS, allow_missing=True),
        kernels=KERNELS,
    output:
        tracks=TRACK_TABLE,
        summary=SUMMARY_TABLE,
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
        summary_sets=list(PLAN.summary_sets),
    script:
        "../../scripts/feature_tables.py"


rule consolidate_features:
    input:
        tracks=consolidation_tracks,
        kernels=KERNELS,
    output:
        array=ARRAY,
        index=ARRAY_INDEX,
    log:
        "results/logs/{dataset}/features/consolidate_{feature}@{segments}.log",
    benchmark:
        "results/benchmarks/{dataset}/features/consolidate_{feature}@{segments}.tsv"
    conda:
        "../../envs/features.yaml"
    resources:
        # the per-track files are streamed into one .npy file: memory does not grow with
        # the dataset; time does
        mem_mb=4000,
        runtime=CONSOLIDATE_RUNTIME,
    params:
        features=FEATURES_PLAN,
    script:
        "../../scripts/consolidate_features.py"
