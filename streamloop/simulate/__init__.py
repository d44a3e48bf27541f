"""A realistic, deterministic streaming-service simulator that lands its events and catalog in the raw lake.

    from streamloop.simulate import SimulationConfig, run_simulation
    print(run_simulation(SimulationConfig(profiles=2000, days=60, seed=7)).render())
"""
from streamloop.simulate.config import SimulationConfig
from streamloop.simulate.run import SimulationSummary, run_simulation

__all__ = ["SimulationConfig", "SimulationSummary", "run_simulation"]
