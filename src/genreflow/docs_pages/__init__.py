"""The documentation pages generated from the workflow itself, so they cannot drift.

* ``docs/reference/config.md``: every config key, from the schema and the default config
  (:mod:`genreflow.docs_pages.config_reference`);
* ``docs/reference/models.md``: every registered model, from the model index
  (:mod:`genreflow.docs_pages.model_catalogue`);
* the rule graph in ``README.md`` and ``docs/index.md``, from ``snakemake --rulegraph
  mermaid-js`` (:mod:`genreflow.docs_pages.rulegraph`).

``python -m genreflow.docs_pages`` rewrites them; ``--check`` exits 1 naming each stale one
(the docs build's hook, ``docs/hooks.py``, runs the same check).
"""
