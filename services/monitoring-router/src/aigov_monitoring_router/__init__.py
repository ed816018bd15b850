"""aigov monitoring-router service."""
