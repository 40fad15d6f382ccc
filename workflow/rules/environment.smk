# The software environment: numba kernels compiled once, and what was installed.


rule compile_kernels:
    # The only job that writes a shared numba cache (see genreflow.kernels.cache); every
    # job that runs librosa's kernels starts from a private copy of it.
    output:
        cache=directory(KERNELS),
        host="results/kernels/{dataset}/host.json",
    log:
        "results/logs/{dataset}/compile_kernels.log",
    benchmark:
        "results/benchmarks/{dataset}/compile_kernels.tsv"
    conda:
        "../../envs/features.yaml"
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        features=FEATURES_PLAN,
        augmentations=list(PLAN.augmentations),
        # a new numba, llvmlite or librosa recompiles (params are a rerun trigger)
        versions=kernel_versions(),
    script:
        "../../scripts/compile_kernels.py"


rule record_environment:
    output:
        report(
            ENVIRONMENT,
            caption="../report/environment.rst",
            category="Environment",
        ),
    log:
        "results/logs/{dataset}/environment.log",
    benchmark:
        "results/benchmarks/{dataset}/record_environment.tsv"
    conda:
        # the env with torch, so that CUDA and cuDNN are recorded
        "../../envs/training.yaml"
    resources:
        mem_mb=2000,
        runtime=5,
    params:
        # clap, mert and muq sets: their folder's files are recorded with their SHA-256
        weights=PLAN.features.folder_weight_sets,
    script:
        "../../scripts/record_environment.py"
