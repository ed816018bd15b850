"""aigov evidence service."""
