"""Modules, layers, losses, initialisers and functional forms (``microgradnn.nn``)."""

from . import functional, init, utils
from .layers import MLP, Dense, Dropout, Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from .losses import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, MSELoss, NLLLoss
from .module import IncompatibleKeys, Module, ModuleList, Parameter, Sequential

__all__ = [
    "functional",
    "init",
    "utils",
    "Module",
    "Parameter",
    "Sequential",
    "ModuleList",
    "IncompatibleKeys",
    "Dense",
    "Sigmoid",
    "Tanh",
    "ReLU",
    "LeakyReLU",
    "Softmax",
    "Identity",
    "Dropout",
    "MLP",
    "MSELoss",
    "BCELoss",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "NLLLoss",
]
