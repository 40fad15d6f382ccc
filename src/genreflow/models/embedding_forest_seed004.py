"""Report 004: a random forest on pretrained embeddings (published: "reaching 80%", GTZAN).

Report 004 trained its baselines on VGGish embeddings too, a random forest among them
"reaching 80%" (split not stated): its best result, ahead of every network it trained.

Model as described
------------------
Input ``musicnn@clip``: the embedding of each patch of the clip (VGGish in the report,
MSD_musicnn ``max_pool`` by default here: bundled and offline; VGGish needs its weights
downloaded first, see ``config/gtzan.yaml``). Pipeline steps: ``pool`` (the mean over
the clip's patches, one vector per track), ``scale`` (standardisation, which a forest
ignores), ``model`` (:class:`~sklearn.ensemble.RandomForestClassifier`).

Choices where the description is vague
--------------------------------------
* 500 trees and scikit-learn's other defaults, as the ``random_forest`` baseline on the
  summary table: the report gives no settings for either.
* One vector per track (the clip mean) rather than one per example: a forest's
  probabilities are then per track, as the report's per-clip accuracy is.
* ``arch`` keys are :class:`~sklearn.ensemble.RandomForestClassifier`'s keywords.
"""

from __future__ import annotations

from sklearn.ensemble import RandomForestClassifier

from genreflow.models.classical import register_classical, report004

SPEC = register_classical(
    "embedding_forest_seed004",
    RandomForestClassifier,
    {"n_estimators": 500, "n_jobs": 1},
    "report 004: random forest on pretrained embeddings (VGGish in the report)",
    report004(0.80),
    inputs=("musicnn@clip",),
)
