"""genreflow: a reproducible music-genre classification workflow.

The package holds the logic; the Snakemake rules in ``workflow/rules`` call it
through the thin scripts in ``scripts/``.

Its layers, lowest first, one line each (``tests/test_layers.py`` reads them and draws
the house from the code: a module imports only from its own layer or lower ones, and no
import, at module or function level, closes a loop):

1. base: checkout, errors, processes, atomic, job_watchdog, workflow_runs, logs, genres, checksums, schemes, audio, excerpts, environment, predictions, figures -- shared helpers
2. records: data, collection, demo, folds, models -- datasets on disk, your own music, fold assignment, the model zoo
3. networks: embeddings -- pretrained networks and the table of embedding kinds
4. signals: features, saved -- per-track features and embeddings; trained models on disk
5. jobs: kernels, training -- compiled kernels and their doctor; training jobs
6. interpretation: plan, evaluation, inference, library -- the config's interpreter; reports; predict; whole libraries
7. tools: explain, cli, docs_pages -- explanations; the command line; the generated docs pages
"""

__version__ = "0.1.0"
