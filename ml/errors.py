"""Failures of the ML library, each a StreamloopError so the CLI prints one line and exits 1.

Two kinds matter to callers: `NoTrainingData` means the data a model needs is simply absent (e.g. a
MovieLens import has no subscriptions, so churn and LTV have nothing to learn) or too small to learn
from honestly (`InsufficientData`); training skips that model with the message as its reason. `TrainingDataError` means the data exists but cannot train a
trustworthy model (too few rows, one class, a missing feature); that is a failure, not a skip.
"""
from streamloop.core.errors import StreamloopError


class NoTrainingData(StreamloopError):
    """The model's training data is absent; skip the model with this message as the reason."""


class InsufficientData(NoTrainingData):
    """The data is there but too small for an honest model (rows under the documented minimum, a time
    span that cannot hold the purge gaps): skipped with this message as the reason, not a failure."""


class TrainingDataError(StreamloopError):
    """The training data exists but is unusable (too few rows, a single class, a missing column)."""


class RegistryError(StreamloopError):
    """A model registry operation failed (unknown model/version, refused promotion, …)."""


class CorruptArtifact(RegistryError):
    """A stored artifact's sha256 does not match the one recorded when it was registered."""
