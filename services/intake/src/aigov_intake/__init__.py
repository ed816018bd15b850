"""aigov intake service."""
