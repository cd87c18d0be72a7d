"""Layers: one file each, all with the interface of `base.Layer` (see there)."""
from .base import LAYERS, Layer, as_shape, get, shape_text
from .dense import FFL
from .dropout import Dropout
from .reshape import Flatten

__all__ = ["LAYERS", "Layer", "FFL", "Dropout", "Flatten", "get", "as_shape", "shape_text"]
