"""Helpers that run real third-party servers for the tests (built from pinned sources)."""
