"""Report 004: a hybrid CNN-RNN with a pretrained branch, on 3 s segments (published: 74.5%).

Report 004's best model ("hybrid CNN-RNN", 74.5% accuracy on GTZAN) combines its
recurrent network (:mod:`genreflow.models.bilstm_seed004`) with convolutional feature
extraction and transfer learning from a pretrained audio network (VGGish in the report).

Architecture as described
-------------------------
Three branches over the same 3 s segment, fused before the classifier:

* a CNN branch on the 128-band log-mel spectrogram (``logmel@s3``, 128 × 129) and the
  24-bin chromagram (``chroma@s3``, 24 × 129);
* a recurrent branch on the 40 MFCCs and 7 wavelet sub-band log energies
  (``mfcc@s3``, 40 × 129, and ``wavelet@s3``, 7 × 129): a bidirectional LSTM like the
  report's RNN, smaller;
* a transfer-learning branch on the frozen embedding of a pretrained network;
* fusion: the branch embeddings concatenated, then a dense layer with dropout and the
  output layer.

AdamW, learning rate 1e-3, weight decay 1e-4, up to 50 epochs with early stopping
(patience 8), learning rate halved when the validation loss plateaus.

Choices where the description is vague
--------------------------------------
* One convolution tower per CNN input, not one shared tower: log-mel and chroma rows
  mean different things (mel bands vs pitch classes) and differ in height (128 vs 24),
  so they can be neither stacked as channels nor usefully share kernels; concatenating
  them along rows would let kernels straddle the boundary. Each tower ends in global
  average pooling, so its embedding size is its last channel count whatever the input
  size.
* Tower blocks: 3 × 3 convolution (``same`` padding, no bias) → BatchNorm → ReLU →
  2 × 2 max-pooling (ceil mode, so short inputs never pool to nothing). Log-mel tower
  16-32-64-64 channels (128 × 129 → 8 × 9 before pooling, embedding 64); chroma tower
  16-32-32 channels (24 × 129 → 3 × 17, embedding 32), shallower since it is 24 rows.
* Recurrent branch: the report's BiLSTM halved in width (hidden 64 per direction, 2 layers,
  dropout 0.3), mean+max pooling over time (embedding 4 × 64 = 256), as in
  :mod:`genreflow.models.bilstm_seed004`.
* Pretrained branch: the report fine-tunes nothing, so the network is frozen and its
  embeddings are not recomputed per epoch. They come from the embedding stage's cache:
  ``musicnn@s3`` by default (MSD_musicnn ``max_pool``, one 2.992 s patch per 3 s
  segment, bundled and offline; VGGish needs its weights downloaded first, see
  ``config/gtzan.yaml``). The branch averages the input's frames (one musicnn patch,
  three VGGish examples), then dense 128 → ReLU. Standardised per dimension like every
  input (``train.normalize``).
* Fusion: concatenation (64 + 32 + 256 + 128 = 480) → dense 128 → ReLU → dropout 0.5 →
  output. No per-branch projection besides the pretrained one, so the fusion layer's
  ``in_features`` is the sum of the branch embeddings.
* Generalisation: ``cnn_channels`` holds one channel list per CNN input; the first
  ``len(cnn_channels)`` inputs go to the CNN towers, the last ``pretrained`` inputs to
  the pretrained branch (their frames averaged, then concatenated), and the inputs in
  between (at least one) are concatenated per frame for the recurrent branch. Frame
  counts are never fixed; only the recurrent inputs' must agree. ``pretrained: 0`` (with
  ``inputs`` without the embedding) is the hybrid without transfer learning.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from genreflow.models.bilstm_seed004 import RecurrentEncoder, _check_shapes
from genreflow.models.registry import ModelSpec, Published, register


class ConvTower(nn.Module):
    """Conv blocks on one (rows × frames) input, global average pooled to a vector.

    Parameters
    ----------
    channels
        Output channels of each block (conv 3×3 → BatchNorm → ReLU → max-pool 2×2).

    Attributes
    ----------
    out_features
        Embedding size: the last block's channels.
    """

    def __init__(self, channels: Sequence[int]) -> None:
        super().__init__()
        if not channels:
            raise ValueError("a convolution tower needs at least one block")
        layers: list[nn.Module] = []
        in_channels = 1
        for out_channels in channels:
            layers += [
                nn.Conv2d(in_channels, int(out_channels), 3, padding=1, bias=False),
                nn.BatchNorm2d(int(out_channels)),
                nn.ReLU(),
                nn.MaxPool2d(2, ceil_mode=True),
            ]
            in_channels = int(out_channels)
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        self.blocks = nn.Sequential(*layers)
        self.out_features = in_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, rows, frames) → (batch, out_features)."""
        return self.blocks(x.unsqueeze(1))


class PretrainedBranch(nn.Module):
    """Frozen embeddings (batch, rows, frames) → mean over frames → dense ``units``, ReLU.

    Parameters
    ----------
    rows
        Summed embedding dimensions of the branch's inputs (concatenated after pooling).
    units
        Output size (:attr:`out_features`).
    """

    def __init__(self, rows: int, units: int) -> None:
        super().__init__()
        self.project = nn.Sequential(nn.Linear(rows, units), nn.ReLU())
        self.out_features = units

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        """Tensors (batch, rows_i, frames_i) → (batch, out_features)."""
        return self.project(torch.cat([x.mean(dim=-1) for x in inputs], dim=1))


class HybridReport004(nn.Module):
    """CNN towers + BiLSTM branch + pretrained branch, concatenated, dense, logits.

    Parameters
    ----------
    n_classes
        Output logits.
    input_shapes
        ``(rows, frames)`` per input: first the CNN inputs (one per entry of
        ``cnn_channels``), then the recurrent inputs (whose frame counts must agree),
        then ``pretrained`` embedding inputs.
    cnn_channels
        One list of block channels per CNN input (see :class:`ConvTower`).
    rnn_hidden, rnn_layers, rnn_dropout, rnn_pooling
        The recurrent branch (see :class:`RecurrentEncoder`).
    pretrained
        How many of the last inputs are pretrained embeddings (0: no such branch).
    pretrained_units
        Output size of the pretrained branch's dense layer.
    fusion
        Units of the dense layer after the concatenated embeddings.
    dropout
        Dropout after the fusion dense layer.
    """

    def __init__(
        self,
        n_classes: int,
        input_shapes: Sequence[tuple[int, int]],
        cnn_channels: Sequence[Sequence[int]] = ((16, 32, 64, 64), (16, 32, 32)),
        rnn_hidden: int = 64,
        rnn_layers: int = 2,
        rnn_dropout: float = 0.3,
        rnn_pooling: str = "meanmax",
        pretrained: int = 1,
        pretrained_units: int = 128,
        fusion: int = 128,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        n_cnn, n_pretrained = len(cnn_channels), int(pretrained)
        n_recurrent = len(input_shapes) - n_cnn - n_pretrained
        if n_pretrained < 0 or n_recurrent < 1:
            raise ValueError(
                f"{len(input_shapes)} inputs for {n_cnn} CNN towers and {n_pretrained} "
                "pretrained embedding(s): the recurrent branch needs at least one more input"
            )
        recurrent_shapes = input_shapes[n_cnn : n_cnn + n_recurrent]
        self.n_cnn, self.n_recurrent = n_cnn, n_recurrent
        self.towers = nn.ModuleList(ConvTower(channels) for channels in cnn_channels)
        self.recurrent = RecurrentEncoder(
            _check_shapes(recurrent_shapes), rnn_hidden, rnn_layers, rnn_dropout, rnn_pooling
        )
        embedding = sum(t.out_features for t in self.towers) + self.recurrent.out_features
        self.pretrained = None
        if n_pretrained:
            rows = sum(int(shape[0]) for shape in input_shapes[n_cnn + n_recurrent :])
            self.pretrained = PretrainedBranch(rows, pretrained_units)
            embedding += self.pretrained.out_features
        self.fusion = nn.Linear(embedding, fusion)
        self.classifier = nn.Sequential(
            nn.ReLU(), nn.Dropout(dropout), nn.Linear(fusion, n_classes)
        )

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        """Tensors (batch, rows_i, frames), one per input → logits (batch, n_classes)."""
        n_cnn, n_rnn = self.n_cnn, self.n_recurrent
        embeddings = [tower(x) for tower, x in zip(self.towers, inputs[:n_cnn])]
        embeddings.append(self.recurrent(torch.cat(inputs[n_cnn : n_cnn + n_rnn], dim=1)))
        if self.pretrained is not None:
            embeddings.append(self.pretrained(*inputs[n_cnn + n_rnn :]))
        return self.classifier(self.fusion(torch.cat(embeddings, dim=1)))


def build(
    n_classes: int, input_shapes: Sequence[tuple[int, int]], **arch: object
) -> HybridReport004:
    """The report-004 hybrid for ``input_shapes`` (CNN, then recurrent, then pretrained)."""
    shapes = [(int(rows), int(frames)) for rows, frames in input_shapes]
    return HybridReport004(n_classes, shapes, **arch)  # type: ignore[arg-type]


SPEC = register(
    ModelSpec(
        name="hybrid_seed004",
        family="torch",
        inputs=("logmel@s3", "chroma@s3", "mfcc@s3", "wavelet@s3", "musicnn@s3"),
        build=build,
        hyperparameters=HybridReport004,
        train={
            "optimizer": "adamw",
            "lr": 1e-3,
            "weight_decay": 1e-4,
            "epochs": 50,
            "patience": 8,
            "scheduler": "plateau",
        },
        reproduces="report 004: hybrid CNN-RNN with a pretrained (transfer-learning) branch",
        published=Published(0.745, "split not stated", "GTZAN", "report 004"),
    )
)
