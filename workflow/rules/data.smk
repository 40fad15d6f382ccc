# Data stage: download → extract → validate → repair → manifest.
# Raw downloads under resources/downloads/ are only ever read after they are verified.


rule download:
    input:
        unpack(download_inputs),
    output:
        dataset_archive(),
    log:
        f"results/logs/{DATASET}/download.log",
    benchmark:
        f"results/benchmarks/{DATASET}/download.tsv"
    conda:
        "../../envs/data.yaml"
    resources:
        mem_mb=500,
        runtime=240,
    params:
        source=download_source(),
        checksum=PLAN.dataset.checksum,
        config_key="dataset",
        allow_prefix=False,
        retries=config["download"]["retries"],
        timeout_s=config["download"]["timeout_s"],
        backoff_s=config["download"]["backoff_s"],
    script:
        "../../scripts/download.py"


if PLAN.dataset.registry_built:

    use rule download as download_metadata with:
        input:
            [],
        output:
            metadata_archive(),
        log:
            f"results/logs/{DATASET}/download_metadata.log",
        benchmark:
            f"results/benchmarks/{DATASET}/download_metadata.tsv"
        params:
            source=PLAN.dataset.metadata.source,
            checksum=PLAN.dataset.metadata.checksum,
            config_key="dataset.metadata",
            allow_prefix=False,
            retries=config["download"]["retries"],
            timeout_s=config["download"]["timeout_s"],
            backoff_s=config["download"]["backoff_s"],

    rule registry_from_metadata:
        input:
            metadata=metadata_archive(),
        output:
            registry=REGISTRY_BUILT,
        log:
            "results/logs/{dataset}/registry.log",
        benchmark:
            "results/benchmarks/{dataset}/registry.tsv"
        conda:
            "../../envs/data.yaml"
        resources:
            mem_mb=4000,
            runtime=10,
        params:
            kind=PLAN.dataset.metadata.kind,
            subset=PLAN.dataset.metadata.subset,
            unlabelled=PLAN.dataset.metadata.unlabelled,
            genres=SELECTED_GENRES,
        script:
            "../../scripts/registry_from_metadata.py"


rule extract:
    input:
        unpack(extract_inputs),
    output:
        extracted=directory(f"{DOWNLOADS}/extracted"),
        inventory=INVENTORY,
    log:
        "results/logs/{dataset}/extract.log",
    benchmark:
        "results/benchmarks/{dataset}/extract.tsv"
    conda:
        "../../envs/data.yaml"
    resources:
        mem_mb=1000,
        runtime=60,
    params:
        folder=PLAN.dataset.folder,
        layout=PLAN.dataset.layout,
    script:
        "../../scripts/extract.py"


rule validate:
    input:
        inventory=INVENTORY,
        registry=dataset_registry(),
    output:
        VALIDATION,
    log:
        "results/logs/{dataset}/validate.log",
    benchmark:
        "results/benchmarks/{dataset}/validate.tsv"
    conda:
        "../../envs/data.yaml"
    threads: 2
    resources:
        mem_mb=2000,
        runtime=60,
    params:
        subset=PLAN.dataset.subset,
        genres=SELECTED_GENRES,
        format=PLAN.dataset.format,
        strict_checksums=PLAN.dataset.strict_checksums,
    script:
        "../../scripts/validate.py"


rule repair:
    input:
        validation=VALIDATION,
        sources=repair_sources(),
    output:
        repaired=directory(REPAIRED),
        repairs=REPAIRS,
    log:
        "results/logs/{dataset}/repair.log",
    benchmark:
        "results/benchmarks/{dataset}/repair.tsv"
    conda:
        "../../envs/data.yaml"
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        format=PLAN.dataset.format,
        strict_checksums=PLAN.dataset.strict_checksums,
    script:
        "../../scripts/repair.py"


if PLAN.dataset.is_collection:

    # Your own music: pinned on its first run (checked against the pin before every
    # later one), then each file judged by decoding. The raw files are only ever read.
    rule pin_collection:
        output:
            registry=PLAN.dataset.registry,
        log:
            f"results/logs/{DATASET}/pin_collection.log",
        benchmark:
            f"results/benchmarks/{DATASET}/pin_collection.tsv"
        conda:
            "../../envs/data.yaml"
        threads: 2
        resources:
            mem_mb=1000,
            runtime=120,
        params:
            source=PLAN.dataset.source,
            labels=dict(PLAN.dataset.collection.labels),
        script:
            "../../scripts/pin_collection.py"

    rule scan_collection:
        input:
            registry=PLAN.dataset.registry,
        output:
            report(
                MANIFEST,
                caption="../report/manifest.rst",
                category="Data",
                labels={"table": "manifest"},
            ),
        log:
            "results/logs/{dataset}/scan_collection.log",
        benchmark:
            "results/benchmarks/{dataset}/scan_collection.tsv"
        conda:
            "../../envs/data.yaml"
        threads: 2
        resources:
            mem_mb=2000,
            runtime=120,
        params:
            root=PLAN.dataset.collection.root,
            genres=SELECTED_GENRES,
            min_duration_s=PLAN.dataset.collection.min_duration_s,
            max_bad_share=PLAN.dataset.collection.max_bad_share,
            min_per_genre=PLAN.folds.min_tracks_per_genre,
            silence_peak=PLAN.features.block["silence_peak"],
            excerpt=PLAN.features.block["excerpt"],
        script:
            "../../scripts/scan_collection.py"

else:

    rule manifest:
        input:
            registry=dataset_registry(),
            validation=VALIDATION,
            repairs=REPAIRS,
        output:
            report(
                MANIFEST,
                caption="../report/manifest.rst",
                category="Data",
                labels={"table": "manifest"},
            ),
        log:
            "results/logs/{dataset}/manifest.log",
        benchmark:
            "results/benchmarks/{dataset}/manifest.tsv"
        conda:
            "../../envs/data.yaml"
        resources:
            mem_mb=1000,
            runtime=10,
        params:
            subset=PLAN.dataset.subset,
            genres=SELECTED_GENRES,
        script:
            "../../scripts/manifest.py"


# Every dataset: the same recording in two files (or an excerpt of one in another) is
# found by its acoustic fingerprint; the folds keep each group in one role.
rule audit_duplicates:
    input:
        manifest=MANIFEST,
        registry=dataset_registry(),
    output:
        report(
            DUPLICATES,
            caption="../report/duplicates.rst",
            category="Data",
            labels={"table": "duplicates"},
        ),
    log:
        "results/logs/{dataset}/audit_duplicates.log",
    benchmark:
        "results/benchmarks/{dataset}/audit_duplicates.tsv"
    conda:
        "../../envs/data.yaml"
    threads: 2
    resources:
        mem_mb=2000,
        runtime=120,
    params:
        excerpt=PLAN.features.block["excerpt"],
    script:
        "../../scripts/audit_duplicates.py"
