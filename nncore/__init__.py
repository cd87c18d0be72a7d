"""nncore: a small, vectorised NumPy neural-network engine with a Keras-like API.

>>> from nncore import NN, FFL, Dropout, load_model
>>> m = NN(seed=0)
>>> m.add(FFL(784, 256, activation="relu")); m.add(Dropout(0.2))
>>> m.add(FFL(neurons=10, activation="softmax"))
>>> m.compile_model(lr=1e-3, opt="adam", loss="cse", metrics=["accuracy"])

No Streamlit here: the engine runs anywhere NumPy does.
"""
from . import activations, augment, callbacks, datasets, losses, optimizers, schedules, transforms
from .errors import DivergenceError, ModelFileError, NotCompiledError, ShapeError
from .io import PRETRAINED_MODEL_PATH, load_model, load_pretrained, model_from_dict, model_to_json, save_model
from .layers import FFL, Conv2d, Dropout, Flatten, Layer, Pool2d
from .model import NN, Callback, History

__all__ = [
    "NN",
    "FFL",
    "Dropout",
    "Flatten",
    "Conv2d",
    "Pool2d",
    "Layer",
    "Callback",
    "History",
    "load_model",
    "load_pretrained",
    "PRETRAINED_MODEL_PATH",
    "save_model",
    "model_to_json",
    "model_from_dict",
    "DivergenceError",
    "ModelFileError",
    "NotCompiledError",
    "ShapeError",
    "activations",
    "augment",
    "callbacks",
    "datasets",
    "schedules",
    "transforms",
    "losses",
    "optimizers",
]
__version__ = "0.1.0"
