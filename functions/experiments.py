"""Experiments and bandits for serving: the product's one definition lives in `streamloop.core.experiments`
(shared with the simulator); this module keeps the import path serving has always used."""
from streamloop.core.experiments import (  # noqa: F401
    Arm,
    Bandit,
    Experiment,
    Experiments,
    Variant,
    assign,
    decode_decision,
    encode_decision,
    load_experiments,
    uniform_hash,
)
