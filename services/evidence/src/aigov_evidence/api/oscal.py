"""NIST OSCAL 1.1 exports of releases: assessment results (control status) and POA&M items (waivers)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
