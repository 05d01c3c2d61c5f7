"""Event sources ``app.py`` declares non-HTTP handlers for, readable without importing the handlers (cold start)."""

from __future__ import annotations

from chalicelib.config import settings

AUDIT_STREAM_ARN = settings().audit_stream_arn  # the audit table's stream; the CDK stack sets the deployed one
