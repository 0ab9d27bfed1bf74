"""CVM-Sim: agent-based simulation of customer value management strategies.

``load_scenario`` and ``ScenarioError`` import at once; the engine (and with it mesa)
is imported on first use of ``run``, ``CVMModel`` or ``sweep``, so validating a file stays
quick.
"""

from .codes import STAGES
from .errors import DataError, InputError, OptionError, ResultsError, ScenarioError
from .scenario import Scenario, load_scenario

__all__ = ["STAGES", "CVMModel", "DataError", "InputError", "OptionError", "ResultsError",
           "RunResult", "Scenario", "ScenarioError", "SweepResult",
           "load_scenario", "monte_carlo", "run", "sweep"]
__version__ = "0.1.0"

# The sweep lives in ``sweeps``: a submodule named ``sweep`` would replace the function
# ``sim.sweep`` as soon as it is imported.
_LAZY = {"CVMModel": "model", "RunResult": "runner", "run": "runner",
         "monte_carlo": "experiment", "SweepResult": "sweeps", "sweep": "sweeps"}
_SUBMODULES = ("agents", "experiment", "metrics", "model", "report", "strategies")


def __getattr__(name: str):
    import importlib

    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
