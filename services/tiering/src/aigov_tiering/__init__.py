"""aigov tiering service."""

from importlib.metadata import version

__version__ = version("aigov-tiering")
