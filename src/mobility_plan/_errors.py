"""Exceptions raised by mobility_plan: each names the problem and the fix."""

from __future__ import annotations

__all__ = [
    "MobilityPlanError",
    "ValidationError",
    "DataSourceError",
    "InfeasibleError",
    "NetworkError",
    "OutputError",
]


class MobilityPlanError(Exception):
    """Base class of every error raised on purpose by mobility_plan."""


class ValidationError(MobilityPlanError, ValueError):
    """An argument or an input table breaks a rule (wrong CRS, shape, unit, range)."""


class DataSourceError(MobilityPlanError, OSError):
    """A data file is missing, corrupt, truncated or in an unexpected encoding."""


class InfeasibleError(MobilityPlanError, ValueError):
    """A model or a target cannot be satisfied with the given inputs."""


class NetworkError(MobilityPlanError, ValueError):
    """A road network lacks what a computation needs (attributes, nodes, connectivity)."""


class OutputError(MobilityPlanError, OSError):
    """An output could not be written or replaced safely (a lock, a leftover, a full disk, a permission)."""
