"""Intake's HTTP API: one router module per resource, all under /v1."""
