"""aigov tiering service."""
