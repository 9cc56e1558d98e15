"""mobility_plan: EV charging and hydrogen refuelling infrastructure planner for South Korea."""

from ._errors import DataSourceError, InfeasibleError, MobilityPlanError, NetworkError, ValidationError

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "MobilityPlanError",
    "ValidationError",
    "DataSourceError",
    "InfeasibleError",
    "NetworkError",
]
