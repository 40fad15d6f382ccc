"""Model zoo: the source reports' models, a modern reference, and classical baselines.

Every module in this package (except the helpers listed in
:data:`genreflow.models.registry.NOT_MODELS`) defines one or more models and registers
them with :func:`genreflow.models.registry.register`.
"""

from __future__ import annotations

from genreflow.models.registry import (
    MODELS,
    ModelSpec,
    Published,
    get_model,
    load_all,
    register,
)

__all__ = ["MODELS", "ModelSpec", "Published", "get_model", "load_all", "register"]
