"""CDK stacks for the deployed service: imported by ``infra/app.py`` and ``tests/infra``, never by chalicelib."""

from __future__ import annotations

from infra.stacks.gatehouse_stack import GatehouseStack

__all__ = ["GatehouseStack"]
