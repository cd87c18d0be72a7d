"""Layers: one file each, all with the interface of `base.Layer` (see there)."""
from .base import LAYERS, Layer, as_shape, get, shape_text
from .conv import Conv2d
from .dense import FFL
from .dropout import Dropout
from .pooling import Pool2d
from .reshape import Flatten

__all__ = ["LAYERS", "Layer", "FFL", "Dropout", "Flatten", "Conv2d", "Pool2d", "get", "as_shape", "shape_text"]
