"""Exceptions raised by nncore. Every message is a sentence a person can act on."""
from __future__ import annotations


class NotCompiledError(RuntimeError):
    """The model was used for training or evaluation before `compile_model`."""


class ShapeError(ValueError):
    """An array does not have the shape the model expects."""


class DivergenceError(ArithmeticError):
    """The loss became NaN or infinite; the weights were restored to their last finite values."""

    def __init__(self, message: str, epoch: int, batch: int):
        super().__init__(message)
        self.epoch = epoch
        self.batch = batch


class ModelFileError(ValueError):
    """A model file is malformed, truncated, oversized or holds non-finite numbers."""
