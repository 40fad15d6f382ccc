"""Model zoo: the source reports' models, a modern reference, and classical baselines.

Every module in this package (except the helpers listed in ``_NOT_MODELS``) defines
one or more models and registers them with :func:`genreflow.models.registry.register`.
"""

from __future__ import annotations

import importlib
import pkgutil

from genreflow.models.registry import MODELS, ModelSpec, Published, get_model, register

_NOT_MODELS = {"registry", "layers", "index", "index_build"}

__all__ = ["MODELS", "ModelSpec", "Published", "get_model", "load_all", "register"]


def load_all() -> dict[str, ModelSpec]:
    """Import every model module once, filling :data:`MODELS`."""
    for module in pkgutil.iter_modules(__path__):
        if module.name not in _NOT_MODELS:
            importlib.import_module(f"{__name__}.{module.name}")
    return MODELS
