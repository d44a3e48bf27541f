"""A realistic, deterministic streaming-service simulator that lands its events and catalog in the raw lake.

    from streamloop.core.simulate import SimulationConfig, run_simulation
    print(run_simulation(SimulationConfig(profiles=2000, days=60, seed=7)).render())
"""
from streamloop.core.simulate.config import SimulationConfig
from streamloop.core.simulate.run import SimulationSummary, run_simulation

__all__ = ["SimulationConfig", "SimulationSummary", "run_simulation"]
