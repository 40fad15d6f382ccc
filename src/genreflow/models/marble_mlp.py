"""Probe: MARBLE's MLP probe protocol, on any embedding set (musicnn by default).

Published: 73.5% test accuracy on GTZAN's fault-filtered split for musicnn in MARBLE
v1 (Yuan et al., 2023), with this protocol; MARBLE's figure for another encoder goes
beside a run on its embeddings through ``models.marble_mlp.published`` (docs/features.md,
"MARBLE's probe protocol").

Model as described
------------------
MARBLE's probe (``MLPProberBase``/``ProberForBertUtterCLS`` of
a43992899/MARBLE-Benchmark, its GTZAN configs): each clip's embedding averaged over time
(its ``reduction: mean``), dense 512, ReLU, dropout 0.2, dense output over the genres;
Adam at a learning rate chosen from {1e-4, 5e-4, 1e-3, 5e-3, 1e-2} on the validation
set, no weight decay, batches of 64, up to 100 epochs, the learning rate halved after 6
epochs without a better validation accuracy (``ReduceLROnPlateau``), early stopping
after 20, the epoch of the best validation accuracy kept.

Input ``musicnn@clip`` by default: MSD_musicnn's ``max_pool`` of each 3 s patch of the
clip, averaged here over the patches. Any ``FEATURE@SEGMENTATION`` of an embedding or
precomputed set works (``models.marble_mlp.inputs: [mert@clip]``): the input dimension
is the data's (the rows of the consolidated array), the frames are averaged.

Choices where the description is vague, and differences from MARBLE
------------------------------------------------------------------
* The learning-rate search (``train.lr_grid``) runs inside each training job: the
  probe is trained at every rate of the grid on the fold's train part, from the same
  initialisation, and the rate whose best epoch has the best validation track accuracy
  (a tie: the lower validation loss, then the earlier rate) gives the saved model (the
  final model at the selected rate: retraining it with the same seed would give the
  same network). MARBLE searched with Ray over its fixed split; here every fold selects
  its own rate on its own val part. ``history.json`` lists every rate's score.
* No standardisation of the embeddings (``train.normalize: none``), as MARBLE feeds
  them raw; ``standardize`` is one key away.
* Validation accuracy is the track accuracy (mean of a track's segment probabilities,
  as MARBLE's ``scatter_mean`` over a clip's chunks); with a ``@clip`` input each track
  is one example, so it is the plain accuracy.
* Full precision (MARBLE trains in fp16 on a GPU; ``training.amp`` applies on CUDA).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from genreflow.models.registry import ModelSpec, Published, register

# MARBLE's learning-rate grid (its configs' hp_search.search_list)
MARBLE_LR_GRID = (1e-4, 5e-4, 1e-3, 5e-3, 1e-2)


class MarbleMLP(nn.Module):
    """Mean over frames, dense ``hidden`` (ReLU, dropout), dense output.

    Parameters
    ----------
    n_classes
        Output units.
    input_shape
        (rows, frames) of one example: rows are the embedding's dimensions (the data's:
        753 for musicnn's max_pool, 768 or 1024 for MERT, ...), frames are averaged.
    hidden
        Units of the hidden layer (MARBLE's ``hidden_layer_sizes: [512]``).
    dropout
        Dropout after the hidden layer (MARBLE's ``dropout_p``).
    """

    def __init__(
        self,
        n_classes: int,
        input_shape: tuple[int, int],
        hidden: int = 512,
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        rows, _ = input_shape
        self.classifier = nn.Sequential(
            nn.Linear(rows, hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, n_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, rows, frames) → logits (batch, n_classes)."""
        return self.classifier(x.mean(dim=-1))


def build(n_classes: int, input_shapes: Sequence[tuple[int, int]], **arch: Any) -> MarbleMLP:
    """The probe for one input of shape ``input_shapes[0]``."""
    (shape,) = input_shapes
    return MarbleMLP(n_classes, (int(shape[0]), int(shape[1])), **arch)


SPEC = register(
    ModelSpec(
        name="marble_mlp",
        family="torch",
        inputs=("musicnn@clip",),
        build=build,
        hyperparameters=MarbleMLP,
        train={
            "epochs": 100,
            "patience": 20,
            "monitor": "val_track_accuracy",
            "optimizer": "adam",
            "lr": 1e-3,
            "lr_grid": MARBLE_LR_GRID,
            "weight_decay": 0.0,
            "batch_size": 64,
            "scheduler": "plateau",
            "plateau_factor": 0.5,
            "plateau_patience": 6,
            "normalize": "none",
        },
        reproduces="probe: MARBLE's MLP protocol (512, lr searched) on any embedding set",
        published=Published(
            0.735,
            "test (fault-filtered split)",
            "GTZAN",
            "MARBLE v1",
            protocol="musicnn, MLP 512, lr searched on validation",
        ),
    )
)
