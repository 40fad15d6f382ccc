# Training: one job per (scheme, model, fold). Torch models ask for a GPU (resources:
# gpu=1) and use it when there is one; scikit-learn models run on the CPU.


rule train_torch:
    input:
        unpack(model_inputs),
        folds="results/folds/{dataset}/{scheme}.csv",
        manifest="results/data/{dataset}/manifest.csv",
    output:
        model="results/models/{dataset}/{scheme}/{model}/fold{fold}/model.pt",
        history="results/models/{dataset}/{scheme}/{model}/fold{fold}/history.json",
        config="results/models/{dataset}/{scheme}/{model}/fold{fold}/config.json",
    log:
        "results/logs/{dataset}/models/{scheme}/{model}/fold{fold}.log",
    benchmark:
        "results/benchmarks/{dataset}/models/{scheme}/{model}/fold{fold}.tsv"
    wildcard_constraints:
        model=TORCH_MODEL_PATTERN,
    conda:
        "../../envs/training.yaml"
    threads: config["training"]["threads"]
    resources:
        gpu=1,
        mem_mb=8000,
        gpu_mem_mb=config["training"]["gpu_mem_mb"],
        runtime=240,
    params:
        inputs=lambda wildcards: MODEL_INPUTS[wildcards.model],
        arch=lambda wildcards: config["models"][wildcards.model].get("arch", {}),
        train=lambda wildcards: config["models"][wildcards.model].get("train", {}),
        training=config["training"],
        features=TRAINED_FEATURES,
    script:
        "../../scripts/train_torch.py"


rule train_classical:
    input:
        table="results/features/{dataset}/gtzan_summary.csv",
        folds="results/folds/{dataset}/{scheme}.csv",
        manifest="results/data/{dataset}/manifest.csv",
    output:
        model="results/models/{dataset}/{scheme}/{model}/fold{fold}/model.joblib",
        history="results/models/{dataset}/{scheme}/{model}/fold{fold}/history.json",
        config="results/models/{dataset}/{scheme}/{model}/fold{fold}/config.json",
    log:
        "results/logs/{dataset}/models/{scheme}/{model}/fold{fold}.log",
    benchmark:
        "results/benchmarks/{dataset}/models/{scheme}/{model}/fold{fold}.tsv"
    wildcard_constraints:
        model=CLASSICAL_MODEL_PATTERN,
    conda:
        "../../envs/training.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        arch=lambda wildcards: config["models"][wildcards.model].get("arch", {}),
        training={**config["training"], "threads": 1},
        features=TRAINED_FEATURES,
    script:
        "../../scripts/train_classical.py"
