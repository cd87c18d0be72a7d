"""Datasets for nncore (package; see the modules for details)."""
from . import mnist as _mnist
from .mnist import *  # noqa: F401,F403
from .mnist import __all__

DEFAULT_MNIST_DIR = _mnist.DEFAULT_MNIST_DIR
