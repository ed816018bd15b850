"""Tiering's HTTP API (all under /v1/tiering, /v1/policies, /v1/controls and /v1/oscal); mountable without create_app."""

from fastapi import APIRouter

from aigov_tiering.api import oscal, policies, simulate, systems

ROUTERS: tuple[APIRouter, ...] = (simulate.router, systems.router, policies.router, oscal.router)

__all__ = ["ROUTERS"]
