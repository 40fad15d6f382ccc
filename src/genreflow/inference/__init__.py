"""Classifying users' audio files with a saved model: ``genreflow predict``.

A model folder (``results/final/<dataset>/<model>/`` or any fold's folder) holds the
model and the feature settings it was trained with; :func:`load_classifier` rebuilds
both, so a song is featurised exactly as the training tracks were, whatever today's
config says.
"""

from genreflow.inference.classifier import Classifier, SongPrediction, load_classifier
from genreflow.inference.songs import SongError, read_song

__all__ = ["Classifier", "SongError", "SongPrediction", "load_classifier", "read_song"]
