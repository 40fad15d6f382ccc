# Training: one job per (scheme, model, seed, fold); the seed is one of training.repeats.
# Torch models ask for a GPU (resources: gpu=1) and use it when there is one;
# scikit-learn models run on the CPU.


rule train_torch:
    input:
        unpack(model_inputs),
        folds=FOLDS,
        manifest=MANIFEST,
    output:
        model=f"{MODEL_DIR}/model.pt",
        history=f"{MODEL_DIR}/history.json",
        config=f"{MODEL_DIR}/config.json",
        timing=f"{MODEL_DIR}/timing.json",
    log:
        "results/logs/{dataset}/models/{scheme}/{model}/seed{seed}/fold{fold}.log",
    benchmark:
        "results/benchmarks/{dataset}/models/{scheme}/{model}/seed{seed}/fold{fold}.tsv"
    wildcard_constraints:
        model=TORCH_MODEL_PATTERN,
    # the long jobs first (final models too), so short evaluations fill the end
    priority: 2
    conda:
        "../../envs/training.yaml"
    threads: PLAN.training.threads
    resources:
        gpu=1,
        mem_mb=8000,
        gpu_mem_mb=PLAN.training.gpu_mem_mb,
        # grows with the tracks, segments and epochs (common.smk); memory does not
        runtime=training_minutes,
    params:
        # the plan's resolved settings: the job merges and defaults nothing
        run=run_settings,
        features=FEATURES_PLAN,
        seed=lambda wildcards: int(wildcards.seed),
    script:
        "../../scripts/train_torch.py"


rule train_classical:
    input:
        unpack(model_inputs),
        folds=FOLDS,
        manifest=MANIFEST,
    output:
        model=f"{MODEL_DIR}/model.joblib",
        history=f"{MODEL_DIR}/history.json",
        config=f"{MODEL_DIR}/config.json",
        timing=f"{MODEL_DIR}/timing.json",
    log:
        "results/logs/{dataset}/models/{scheme}/{model}/seed{seed}/fold{fold}.log",
    benchmark:
        "results/benchmarks/{dataset}/models/{scheme}/{model}/seed{seed}/fold{fold}.tsv"
    wildcard_constraints:
        model=CLASSICAL_MODEL_PATTERN,
    priority: 2
    conda:
        "../../envs/training.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        run=run_settings,
        features=FEATURES_PLAN,
        seed=lambda wildcards: int(wildcards.seed),
    script:
        "../../scripts/train_classical.py"
