"""A scikit-learn model's examples: summary-table rows, or one consolidated array.

A classical model reads either a summary set (``gtzan_summary``: one row of 57 values
per track) or one ``FEATURE@SEGMENTATION`` array (examples × rows × frames, e.g.
``musicnn@clip``), which its pipeline pools itself (see
:func:`genreflow.models.classical.pool_frames`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from genreflow.errors import DataError

# the summary table's identity columns; every other column is a feature
TABLE_KEYS = ("track_id", "source_track_id", "genre")


@dataclass(frozen=True)
class ClassicalData:
    """Examples of a scikit-learn model: ``x`` row i is the example of ``index`` row i."""

    x: np.ndarray  # (examples, columns) or (examples, rows, frames)
    index: pd.DataFrame  # track_id, source_track_id, genre, segment
    columns: list[str] | None  # the summary table's feature columns; None for an array

    @property
    def labels(self) -> np.ndarray:
        return self.index["genre"].to_numpy()

    def select(self, columns: Sequence[str]) -> ClassicalData:
        """The same examples with the summary ``columns`` a trained model reads."""
        missing = sorted(set(columns) - set(self.columns or ()))
        if missing:
            raise DataError(
                f"the summary table lacks columns the model was trained on "
                f"({', '.join(missing[:5])}…): re-run training."
            )
        positions = [self.columns.index(column) for column in columns]
        return ClassicalData(self.x[:, positions], self.index, list(columns))

    @property
    def input_shape(self) -> list[int]:
        """The shape of one example (what the model was trained on)."""
        return list(self.x.shape[1:])


def table_data(table: pd.DataFrame) -> ClassicalData:
    """The summary table's tracks, every feature column."""
    columns = [c for c in table.columns if c not in TABLE_KEYS]
    if not columns:
        raise DataError("the summary table has no feature columns: enable the gtzan_summary set.")
    index = table[list(TABLE_KEYS)].assign(segment=0).reset_index(drop=True)
    return ClassicalData(table[list(columns)].to_numpy(dtype=np.float64), index, list(columns))


def array_data(array: str, index: str) -> ClassicalData:
    """One consolidated array (read whole; probes' inputs are small) and its index."""
    table = pd.read_csv(index, dtype={"track_id": str, "source_track_id": str})
    x = np.load(array).astype(np.float64)
    if len(x) != len(table):
        raise DataError(f"{array} has {len(x)} examples but {index} lists {len(table)}.")
    return ClassicalData(x, table, None)


def load_classical_data(
    *, table: str | None = None, arrays: Sequence[str] = (), indexes: Sequence[str] = ()
) -> ClassicalData:
    """A rule's inputs as examples: the summary ``table``, or the one array it names."""
    if arrays:
        if len(arrays) != 1 or table:
            raise DataError(
                "a scikit-learn model reads one input: a summary set or one FEATURE@SEGMENTATION "
                f"array, not {len(arrays) + bool(table)}."
            )
        return array_data(arrays[0], indexes[0])
    if table is None:
        raise DataError("a scikit-learn model needs an input: a summary set or an array.")
    return table_data(pd.read_csv(table, dtype={"track_id": str, "source_track_id": str}))
