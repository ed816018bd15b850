"""aigov monitoring-router service."""

from importlib.metadata import version

__version__ = version("aigov-monitoring-router")
