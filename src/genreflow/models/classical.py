"""Classical classifiers on the 57-column GTZAN summary table (report 004's baselines + an SVM).

Report 004 reports, on the per-track summary features (``gtzan_summary``: the columns of
:data:`genreflow.features.summary.SUMMARY_COLUMNS`), logistic regression (45%), a linear
model trained by stochastic gradient descent (38%) and a random forest (55%); an RBF
SVM is added as the usual strong baseline on this table (no published figure).

Models as described
-------------------
Every model is a scikit-learn :class:`~sklearn.pipeline.Pipeline`: :func:`pool_frames`
(step ``"pool"``: the mean over frames of an array input, nothing for the summary
table's rows), a :class:`~sklearn.preprocessing.StandardScaler` (step ``"scale"``),
then the classifier (step ``"model"``).

* ``logreg``: :class:`~sklearn.linear_model.LogisticRegression`, C 1.0, up to 2000
  iterations (the default lbfgs solver, multinomial for several classes).
* ``sgd``: :class:`~sklearn.linear_model.SGDClassifier` with the logistic loss
  (``log_loss``, so it has ``predict_proba``), no early stopping, up to 1000 epochs,
  tolerance 1e-3.
* ``random_forest``: :class:`~sklearn.ensemble.RandomForestClassifier`, 500 trees,
  one job (the workflow parallelises across models and folds, not inside one).
* ``svm``: RBF :class:`~sklearn.svm.SVC`, C 10, gamma ``"scale"``, with probabilities.

Choices where the description is vague
--------------------------------------
* Hyperparameters not listed are scikit-learn's defaults (the report gives none).
* Every estimator that takes a ``random_state`` gets the workflow seed; ``random_state``
  is therefore not an ``arch`` key.
* ``arch`` holds the estimator's keyword arguments, so ``models.<name>.arch.<key>`` in
  the config overrides any of them; an unknown key is a :class:`ConfigError`.
* SVM probabilities: ``SVC(probability=True)`` is deprecated since scikit-learn 1.9 (to
  be removed in 1.11), so the SVC is wrapped in its documented replacement,
  ``CalibratedClassifierCV(SVC(...), ensemble=False)``: Platt (sigmoid) scaling fitted
  on 5-fold cross-validated decision values, then one SVC refitted on all the data —
  the same procedure and cost as libsvm's built-in Platt scaling (fewer folds when a
  genre has fewer than 5 training examples: see :func:`limit_to_data`). Its ``predict`` is the
  argmax of the probabilities (``SVC.predict`` can disagree with ``predict_proba``).
  ``arch`` keys go to the inner SVC.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.svm import SVC

from genreflow.errors import ConfigError, DataError
from genreflow.models.registry import ModelSpec, Published, register

INPUTS = ("gtzan_summary",)


def pool_frames(x: np.ndarray) -> np.ndarray:
    """(examples, rows, frames) → (examples, rows) by the mean over frames; 2-D unchanged.

    Lets one pipeline read the summary table (one row per track) or a consolidated array
    (e.g. ``musicnn@clip``: a track's 3 s patches, averaged into one vector).
    """
    x = np.asarray(x)
    return x.mean(axis=-1) if x.ndim == 3 else x


def make_pipeline(*steps: tuple[str, Any]) -> Pipeline:
    """``pool`` (:func:`pool_frames`) and ``scale`` (standardisation), then ``steps``."""
    return Pipeline(
        [("pool", FunctionTransformer(pool_frames)), ("scale", StandardScaler()), *steps]
    )


def seeded(estimator_cls: type[BaseEstimator], seed: int, arch: dict[str, Any]) -> BaseEstimator:
    """``estimator_cls(**arch)`` with ``random_state=seed`` where it takes one.

    Raises
    ------
    ConfigError
        An ``arch`` key that ``estimator_cls`` does not take, or ``random_state``.
    """
    known = set(inspect.signature(estimator_cls).parameters)
    unknown = sorted(set(arch) - known)
    if unknown:
        raise ConfigError(
            f"arch: {estimator_cls.__name__} takes no key(s) {', '.join(unknown)}; "
            f"known: {', '.join(sorted(known - {'random_state'}))}."
        )
    if "random_state" in arch:
        raise ConfigError("arch.random_state: the workflow seed sets it; remove the key.")
    params = dict(arch)
    if "random_state" in known:
        params["random_state"] = seed
    return estimator_cls(**params)


def calibrated(estimator: BaseEstimator) -> CalibratedClassifierCV:
    """``estimator`` with Platt-scaled probabilities (sigmoid, 5-fold, one refit)."""
    return CalibratedClassifierCV(estimator, method="sigmoid", cv=5, ensemble=False)


def build_pipeline(
    estimator_cls: type[BaseEstimator], seed: int, *, calibrate: bool = False, **arch: Any
) -> Pipeline:
    """Pooling, standard scaling, then ``estimator_cls(**arch)`` seeded with ``seed``.

    Parameters
    ----------
    estimator_cls
        A scikit-learn classifier class.
    seed
        ``random_state`` of the estimator, where it takes one.
    calibrate
        Wrap the estimator in ``CalibratedClassifierCV(..., ensemble=False)`` (sigmoid,
        5-fold) so that it has ``predict_proba`` (for the SVC).
    **arch
        Keyword arguments of ``estimator_cls``.

    Returns
    -------
    Pipeline
        Steps ``"pool"``, ``"scale"`` and ``"model"`` (the classifier, or its
        calibration wrapper whose ``estimator`` is the classifier).
    """
    estimator = seeded(estimator_cls, seed, arch)
    return make_pipeline(("model", calibrated(estimator) if calibrate else estimator))


def limit_to_data(
    pipeline: Pipeline, n_features: int, labels: Sequence[str]
) -> dict[str, tuple[int, int]]:
    """Lower the settings a small training set cannot support; return what changed.

    * A step's integer ``n_components`` (PCA): centred data of ``n`` examples of
      ``n_features`` values (after pooling) has rank ``min(n - 1, n_features)`` at most,
      so a fold with fewer training examples than a probe's 128 components gets
      ``n - 1``.
    * A :class:`~sklearn.calibration.CalibratedClassifierCV`'s ``cv`` folds: each needs
      an example of every genre, so ``cv`` is at most the rarest genre's count (an
      artist-grouped fold of a small dataset can hold 4 tracks of a genre).

    Returns ``{"<step>.<parameter>": (asked, used)}`` for every change.

    Raises
    ------
    DataError
        A genre has a single training example: nothing can calibrate on it.
    """
    n_samples = len(labels)
    rarest = int(pd.Series(labels).value_counts().min()) if n_samples else 0
    limits = {"n_components": max(1, min(n_samples - 1, n_features)), "cv": rarest}
    changed = {}
    for name, step in pipeline.steps:
        for parameter, limit in limits.items():
            asked = getattr(step, parameter, None)
            if not isinstance(asked, int) or isinstance(asked, bool) or asked <= limit:
                continue
            if parameter == "cv" and limit < 2:
                raise DataError(
                    f"a genre has {limit} training example(s): probability calibration "
                    f"({name}) needs at least 2 of each; use larger folds or fewer genres."
                )
            step.set_params(**{parameter: limit})
            changed[f"{name}.{parameter}"] = (asked, limit)
    return changed


def break_ties(
    probabilities: np.ndarray, decisions: Sequence[str], genres: Sequence[str]
) -> np.ndarray:
    """Resolve tied top probabilities in favour of the estimator's own decision.

    One-vs-rest probabilities saturate (an SGD's sigmoids of decision values in the
    hundreds are all exactly 1.0), so the most probable genre can be a tie that the
    decision function, which ``predict`` uses, does not have. The decided genre gets
    1e-9 more probability in those rows only.
    """
    probabilities = np.array(probabilities, dtype=np.float64)
    top = probabilities.max(axis=1, keepdims=True)
    tied = (probabilities == top).sum(axis=1) > 1
    column = {genre: i for i, genre in enumerate(genres)}
    for row in np.flatnonzero(tied):
        probabilities[row, column[decisions[row]]] += 1e-9
    return probabilities


def classical_probabilities(
    estimator: BaseEstimator, x: np.ndarray, genres: Sequence[str]
) -> np.ndarray:
    """``predict_proba`` in the order of ``genres`` (a class the fit lacked gets 0), ties
    broken by ``predict`` (:func:`break_ties`), rows summing to 1."""
    by_class = pd.DataFrame(estimator.predict_proba(x), columns=estimator.classes_)
    probabilities = by_class.reindex(columns=list(genres), fill_value=0.0).to_numpy()
    probabilities = break_ties(probabilities, estimator.predict(x), genres)
    return probabilities / probabilities.sum(axis=1, keepdims=True)


def report004(accuracy: float) -> Published:
    return Published(accuracy, "split not stated", "GTZAN", "report 004")


def register_classical(
    name: str,
    estimator_cls: type[BaseEstimator],
    arch: dict[str, Any],
    reproduces: str,
    published: Published | None = None,
    *,
    calibrate: bool = False,
    inputs: tuple[str, ...] = INPUTS,
    deterministic: bool = False,
) -> ModelSpec:
    """Register a pooled, scaled scikit-learn pipeline on ``inputs`` (the summary table);
    ``deterministic``: its fit draws no random numbers (see :class:`ModelSpec`)."""
    return register(
        ModelSpec(
            name=name,
            family="sklearn",
            inputs=inputs,
            build=partial(build_pipeline, estimator_cls, calibrate=calibrate),
            hyperparameters=estimator_cls,
            variant=arch,
            reproduces=reproduces,
            published=published,
            deterministic=deterministic,
        )
    )


LOGREG = register_classical(
    "logreg",
    LogisticRegression,
    {"C": 1.0, "max_iter": 2000},
    "report 004: logistic regression",
    report004(0.45),
    deterministic=True,  # lbfgs: random_state is unused
)
SGD = register_classical(
    "sgd",
    SGDClassifier,
    {"loss": "log_loss", "early_stopping": False, "max_iter": 1000, "tol": 1e-3},
    "report 004: SGD",
    report004(0.38),
)
RANDOM_FOREST = register_classical(
    "random_forest",
    RandomForestClassifier,
    {"n_estimators": 500, "n_jobs": 1},
    "report 004: random forest",
    report004(0.55),
)
SVM = register_classical(
    "svm",
    SVC,
    {"kernel": "rbf", "C": 10.0, "gamma": "scale"},
    "baseline: RBF SVM",
    calibrate=True,
    deterministic=True,  # libsvm without its own Platt scaling; calibration folds unshuffled
)
