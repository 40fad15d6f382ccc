"""genreflow: a reproducible music-genre classification workflow.

The package holds the logic; the Snakemake rules in ``workflow/rules`` call it
through the thin scripts in ``scripts/``.
"""

__version__ = "0.1.0"
