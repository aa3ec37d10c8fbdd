"""Shared test settings: hypothesis profiles and small helpers."""

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

# "default": bounded and quick for every run; "thorough": many more examples, for a long run:
#   MICROGRADNN_HYPOTHESIS_PROFILE=thorough python -m pytest
settings.register_profile(
    "default",
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "thorough",
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("MICROGRADNN_HYPOTHESIS_PROFILE", "default"))


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator, so every test run draws the same numbers."""
    return np.random.default_rng(1234)
