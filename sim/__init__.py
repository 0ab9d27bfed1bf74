"""CVM-Sim: agent-based simulation of customer value management strategies."""

from .model import CVMModel
from .run import RunResult, run
from .scenario import STAGES, Scenario, ScenarioError, load_scenario

__all__ = ["STAGES", "CVMModel", "RunResult", "Scenario", "ScenarioError", "load_scenario",
           "run"]
__version__ = "0.1.0"
