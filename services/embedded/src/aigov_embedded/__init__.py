"""aigov all-in-one: intake, tiering, evidence and the monitoring router in one process."""

from importlib.metadata import version

__version__ = version("aigov-embedded")
