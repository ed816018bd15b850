"""Tiering's HTTP API (all under /v1/tiering, /v1/policies and /v1/controls); mountable without create_app."""

from fastapi import APIRouter

from aigov_tiering.api import policies, simulate, systems

ROUTERS: tuple[APIRouter, ...] = (simulate.router, systems.router, policies.router)

__all__ = ["ROUTERS"]
