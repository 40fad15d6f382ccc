# The embedded demo dataset, published like a real one: archive, checksum, registry.


rule publish_demo:
    output:
        archive=DEMO_ARCHIVE,
        checksum=DEMO_CHECKSUM,
        registry=DEMO_REGISTRY,
        originals=directory(DEMO_ORIGINALS),
    log:
        "results/logs/demo/publish_demo.log",
    benchmark:
        "results/benchmarks/demo/publish_demo.tsv"
    conda:
        "../../envs/data.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        clips_per_genre=config["demo"]["clips_per_genre"],
        clip_seconds=config["demo"]["clip_seconds"],
        artists_per_genre=config["demo"]["artists_per_genre"],
        seed=config["demo"]["seed"],
        sample_rate=config["dataset"]["format"]["sample_rate"],
    script:
        "../../scripts/publish_demo.py"
