# Explanations: Grad-CAM and Integrated Gradients of a few test tracks of every torch
# model and fold, from the saved model (Captum).


rule explain:
    input:
        unpack(model_inputs),
        model=f"{MODEL_DIR}/model.pt",
        folds=FOLDS,
        kernels=KERNELS,
    output:
        figure=report(
            f"{EXPLAIN}/explanations.png",
            caption="../report/explanations.rst",
            category="Explanations",
            subcategory="{scheme}",
            labels={"model": "{model}", "fold": "{fold}"},
        ),
        table=f"{EXPLAIN}/explanations.csv",
    log:
        "results/logs/{dataset}/explain/{scheme}/{model}/seed{seed}/fold{fold}.log",
    benchmark:
        "results/benchmarks/{dataset}/explain/{scheme}/{model}/seed{seed}/fold{fold}.tsv"
    wildcard_constraints:
        model=TORCH_MODEL_PATTERN,
    conda:
        "../../envs/explain.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        tracks=config["explain"]["tracks_per_fold"],
        steps=config["explain"]["ig_steps"],
        max_steps=config["explain"]["ig_max_steps"],
    script:
        "../../scripts/explain.py"
