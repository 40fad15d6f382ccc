"""Report 004: a bidirectional LSTM over MFCC and wavelet frames (published: 57%, GTZAN).

Report 004 compares classical classifiers, a recurrent network and a hybrid CNN-RNN on
GTZAN; this module is its recurrent network ("RNN", 57% accuracy).

Architecture as described
-------------------------
Input: the 40 MFCCs and the 7 wavelet sub-band log energies of a 3 s segment
(``mfcc@s3``, 40 × 129, and ``wavelet@s3``, 7 × 129), concatenated per frame into a
sequence of 47-dimensional feature vectors. A bidirectional LSTM (2 layers, 128 hidden
units per direction, dropout 0.3 between the layers) runs over time; its outputs are
pooled into one vector, followed by a dense layer and the output layer. Adam, learning
rate 1e-3, batch size 32, up to 50 epochs with early stopping (patience 8), gradient
norm clipping at 1.0.

Choices where the description is vague
--------------------------------------
* Pooling: mean and max of the top layer's outputs over all time steps, concatenated
  (4 × 128 = 512 features). The last hidden states of a bidirectional LSTM each mostly
  summarise the frames next to one edge of the segment; pooling uses every frame, and
  a 3 s genre segment has no privileged end. ``pooling="last"`` gives the alternative
  (final forward and backward states of the top layer, 2 × 128 = 256 features).
* Dense layer: 128 units, ReLU, dropout 0.3 (the recurrent dropout), then the output
  layer (the logits; softmax lives in the loss).
* The inputs are concatenated along rows in the order of ``inputs``; any number of
  inputs with equal frame counts works, and the LSTM's input size is the sum of their
  rows (47 here). Frame counts are never fixed: the model runs on any segment length.
* No extra input normalisation: the training engine standardises every row.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from genreflow.models.registry import ModelSpec, Published, register

POOLINGS = ("meanmax", "last")


class RecurrentEncoder(nn.Module):
    """Bidirectional LSTM over frames, pooled into one vector per example.

    Parameters
    ----------
    input_size
        Features per time step (the summed rows of the concatenated inputs).
    hidden_size
        LSTM units per direction.
    num_layers
        Stacked LSTM layers.
    dropout
        Dropout between LSTM layers (ignored with one layer).
    pooling
        ``"meanmax"``: mean and max over time of the top layer's outputs;
        ``"last"``: the final forward and backward hidden states of the top layer.

    Attributes
    ----------
    out_features
        Size of the pooled vector: ``4 * hidden_size`` (meanmax) or
        ``2 * hidden_size`` (last).
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int = 128,
        num_layers: int = 2,
        dropout: float = 0.3,
        pooling: str = "meanmax",
    ) -> None:
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"pooling {pooling!r} is not one of {', '.join(POOLINGS)}")
        self.pooling = pooling
        self.lstm = nn.LSTM(
            input_size=input_size,
            hidden_size=hidden_size,
            num_layers=num_layers,
            dropout=dropout if num_layers > 1 else 0.0,
            bidirectional=True,
            batch_first=True,
        )
        self.out_features = (4 if pooling == "meanmax" else 2) * hidden_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, features, frames) → (batch, out_features)."""
        outputs, (h_n, _) = self.lstm(x.transpose(1, 2))
        if self.pooling == "last":
            # h_n: (num_layers * 2, batch, hidden); the last two are the top layer's
            # forward and backward final states
            return torch.cat([h_n[-2], h_n[-1]], dim=1)
        return torch.cat([outputs.mean(dim=1), outputs.amax(dim=1)], dim=1)


class BiLSTMReport004(nn.Module):
    """Row-concatenated inputs → BiLSTM → pooling → dense → logits.

    Parameters
    ----------
    n_classes
        Output logits.
    input_shapes
        ``(rows, frames)`` per input; the frame counts must agree.
    hidden_size, num_layers, dropout, pooling
        The recurrent encoder (see :class:`RecurrentEncoder`).
    dense
        Units of the hidden dense layer.
    dense_dropout
        Dropout after the hidden dense layer.
    """

    def __init__(
        self,
        n_classes: int,
        input_shapes: Sequence[tuple[int, int]],
        hidden_size: int = 128,
        num_layers: int = 2,
        dropout: float = 0.3,
        pooling: str = "meanmax",
        dense: int = 128,
        dense_dropout: float = 0.3,
    ) -> None:
        super().__init__()
        input_size = _check_shapes(input_shapes)
        self.encoder = RecurrentEncoder(input_size, hidden_size, num_layers, dropout, pooling)
        self.classifier = nn.Sequential(
            nn.Linear(self.encoder.out_features, dense),
            nn.ReLU(),
            nn.Dropout(dense_dropout),
            nn.Linear(dense, n_classes),
        )

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        """Tensors (batch, rows_i, frames), one per input → logits (batch, n_classes)."""
        return self.classifier(self.encoder(torch.cat(inputs, dim=1)))


def _check_shapes(input_shapes: Sequence[tuple[int, int]]) -> int:
    """The summed rows of inputs that are concatenated per frame; checks frames agree."""
    if not input_shapes:
        raise ValueError("the recurrent model needs at least one input")
    frames = {int(shape[1]) for shape in input_shapes}
    if len(frames) > 1:
        raise ValueError(f"inputs {list(input_shapes)} differ in frames; they must agree")
    return sum(int(shape[0]) for shape in input_shapes)


def build(
    n_classes: int, input_shapes: Sequence[tuple[int, int]], **arch: object
) -> BiLSTMReport004:
    """The report-004 BiLSTM over the row-concatenation of ``input_shapes``."""
    shapes = [(int(rows), int(frames)) for rows, frames in input_shapes]
    return BiLSTMReport004(n_classes, shapes, **arch)  # type: ignore[arg-type]


SPEC = register(
    ModelSpec(
        name="bilstm_seed004",
        family="torch",
        inputs=("mfcc@s3", "wavelet@s3"),
        build=build,
        hyperparameters=BiLSTMReport004,
        train={
            "optimizer": "adam",
            "lr": 1e-3,
            "epochs": 50,
            "patience": 8,
            "batch_size": 32,
            "grad_clip": 1.0,
        },
        reproduces="report 004: RNN",
        published=Published(0.57, "split not stated", "GTZAN", "report 004"),
    )
)
