# genreflow: music-genre classification from download to evaluation report.
# Run the default (offline demo) with `snakemake --cores 2`; see README.md and docs/
import os
import sys
from pathlib import Path

from snakemake.utils import min_version

min_version("9.0")

# This file's folder: the workflow's own files (schema, bundled resources) are found from
# here, so the workflow also runs as a module of another project (docs/module.md), where
# the working directory holds only that project's config and results.
WORKFLOW_ROOT = Path(str(workflow.current_basedir))
SCHEMA = WORKFLOW_ROOT / "workflow/schemas/config.schema.yaml"
if not SCHEMA.is_file():
    raise WorkflowError(
        f"genreflow reads its schema, default config and bundled data from its own folder, "
        f"and {workflow.current_basedir} is not a local clone: clone genreflow and point "
        "the module's snakefile at the clone's Snakefile (docs/module.md)"
    )
# genreflow is pip-installed in the venv; inside conda envs it is found through src/.
sys.path.insert(0, str(WORKFLOW_ROOT / "src"))
from genreflow.errors import ConfigError
from genreflow.job_watchdog import WORKFLOW_PROCESS_ENV
from genreflow.plan import resolve_plan
from genreflow.plan.workflow_files import fill_defaults, locate_bundled
from genreflow.processes import ProcessId
from genreflow.workflow_runs import start_run


configfile: "config/config.yaml"


# Used as a module (docs/module.md), the project's config is merged over the workflow's
# defaults, and the files the workflow ships with (resources/...) are read from its folder.
fill_defaults(config, WORKFLOW_ROOT)
locate_bundled(config, WORKFLOW_ROOT)

# Every config mistake stops the run here, before any job, each named by its key.
try:
    PLAN = resolve_plan(config, SCHEMA)
except ConfigError as exc:
    problems = str(exc).splitlines()
    if len(problems) == 1:
        raise WorkflowError(f"Invalid configuration: {problems[0]}") from None
    listed = "\n  ".join(problems)
    raise WorkflowError(f"Invalid configuration ({len(problems)} problems):\n  {listed}") from None
if workflow.is_main_process:
    print(PLAN.describe(), file=sys.stderr)

# A run killed before it could unlock leaves Snakemake's lock: released here when its
# process is gone. Local jobs stop themselves when this process dies (job_watchdog).
if workflow.is_main_process and not workflow.output_settings.dryrun:
    if said := start_run(Path.cwd(), ["snakemake", *sys.argv[1:]]):
        print(said, file=sys.stderr)
    os.environ[WORKFLOW_PROCESS_ENV] = str(ProcessId.of())
elif not workflow.is_main_process:
    os.environ.pop(WORKFLOW_PROCESS_ENV, None)


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
include: "workflow/rules/library.smk"


rule all:
    default_target: True
    input:
        final_outputs(),


# `snakemake classify`: a music library classified by one model (the classify block;
# workflow/rules/library.smk). While classify.library is null it stops, naming the key.
rule classify:
    input:
        library_outputs,
