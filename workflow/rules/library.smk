# A whole music library classified by one model (the classify block; `snakemake classify`):
# walked once into shards of classify.shard_files files, one job per shard (one SLURM job
# each with --workflow-profile profiles/slurm), the shard tables merged in the listing's
# order, and a one-page summary. Rows are genreflow classify's (docs/classify.md, "A whole
# library").


checkpoint list_library:
    output:
        listing=directory(LIBRARY_LISTING),
        problems=LIBRARY_WALK_ERRORS,
        info=LIBRARY_COUNTS,
    log:
        "results/logs/{dataset}/library/{library}/list.log",
    benchmark:
        "results/benchmarks/{dataset}/library/{library}/list.tsv"
    conda:
        "../../envs/classify.yaml"
    resources:
        mem_mb=1000,
        runtime=30,
    params:
        library=lambda wildcards: CLASSIFY.library,
        shard_files=lambda wildcards: CLASSIFY.shard_files,
    script:
        "../../scripts/list_library.py"


rule classify_shard:
    input:
        files=LIBRARY_SHARD,
        model=library_model,
        kernels=KERNELS,
    output:
        table=LIBRARY_PART_TABLE,
        errors=LIBRARY_PART_ERRORS,
    log:
        "results/logs/{dataset}/library/{library}/parts/{part}.log",
    benchmark:
        "results/benchmarks/{dataset}/library/{library}/parts/{part}.tsv"
    conda:
        "../../envs/classify.yaml"
    threads: CLASSIFY.threads if CLASSIFY else 1
    resources:
        mem_mb=4000,
        runtime=library_job_minutes(),
    params:
        model_dir=lambda wildcards: CLASSIFY.model_dir,
        device=lambda wildcards: CLASSIFY.device,
        whole=lambda wildcards: CLASSIFY.whole,
        top_k=lambda wildcards: CLASSIFY.top_k,
    script:
        "../../scripts/classify_shard.py"


rule merge_library:
    input:
        tables=library_parts(LIBRARY_PART_TABLE),
        errors=library_parts(LIBRARY_PART_ERRORS),
        problems=LIBRARY_WALK_ERRORS,
    output:
        table=LIBRARY_TABLE,
        errors=LIBRARY_ERRORS,
    log:
        "results/logs/{dataset}/library/{library}/merge.log",
    benchmark:
        "results/benchmarks/{dataset}/library/{library}/merge.tsv"
    conda:
        "../../envs/classify.yaml"
    resources:
        mem_mb=1000,
        runtime=30,
    params:
        top_k=lambda wildcards: CLASSIFY.top_k,
    script:
        "../../scripts/merge_library.py"


rule summarise_library:
    input:
        table=LIBRARY_TABLE,
        errors=LIBRARY_ERRORS,
        info=LIBRARY_COUNTS,
    output:
        markdown=f"{LIBRARY}/summary.md",
        figure=f"{LIBRARY}/summary.png",
        page=f"{LIBRARY}/summary.html",
    log:
        "results/logs/{dataset}/library/{library}/summary.log",
    benchmark:
        "results/benchmarks/{dataset}/library/{library}/summary.tsv"
    conda:
        "../../envs/report.yaml"
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        name=lambda wildcards: wildcards.library,
        model_dir=lambda wildcards: CLASSIFY.model_dir,
        least_confident=lambda wildcards: CLASSIFY.least_confident,
    script:
        "../../scripts/summarise_library.py"
