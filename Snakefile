# genreflow: music-genre classification from download to evaluation report.
# Run the default (offline demo) with `snakemake --cores 2`; see README.md.
import sys
from pathlib import Path

from snakemake.utils import min_version, validate

min_version("9.0")

# genreflow is pip-installed in the venv; inside conda envs it is found through src/.
sys.path.insert(0, str(Path(workflow.basedir) / "src"))
from genreflow.config import schema_problems


configfile: "config/config.yaml"


CONFIG_SCHEMA = "workflow/schemas/config.schema.yaml"
config_problems = schema_problems(config, Path(workflow.basedir) / CONFIG_SCHEMA)
if config_problems:
    raise WorkflowError("Invalid configuration:\n  " + "\n  ".join(config_problems))
validate(config, CONFIG_SCHEMA)


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/environment.smk"
include: "workflow/rules/demo.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/features.smk"
include: "workflow/rules/folds.smk"
include: "workflow/rules/training.smk"
include: "workflow/rules/evaluation.smk"
include: "workflow/rules/final.smk"
include: "workflow/rules/explain.smk"
include: "workflow/rules/sweeps.smk"


rule all:
    default_target: True
    input:
        final_outputs(),
