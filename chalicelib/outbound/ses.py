"""Email through Amazon SES (``SendEmail`` with a text and an HTML part); locally moto keeps it for the outbox."""

from __future__ import annotations

from email.utils import formataddr
from typing import Any

from chalicelib.config import settings
from chalicelib.core.errors import DependencyUnavailable
from chalicelib.outbound.aws import client


class SesEmailSender:
    def __init__(self, sender: str | None = None) -> None:
        self._sender = sender or settings().email_sender

    def send(self, *, to: str, subject: str, text: str, html: str | None = None, from_name: str | None = None) -> None:
        body: dict[str, Any] = {"Text": {"Data": text, "Charset": "UTF-8"}}
        if html:
            body["Html"] = {"Data": html, "Charset": "UTF-8"}
        # Header injection: a display name with CR/LF never reaches the From header.
        name = " ".join((from_name or "").split())[:64]
        source = formataddr((name, self._sender)) if name else self._sender
        try:
            client("ses").send_email(
                Source=source,
                Destination={"ToAddresses": [to]},
                Message={"Subject": {"Data": subject, "Charset": "UTF-8"}, "Body": body},
            )
        except Exception as error:  # botocore errors: SES unreachable, throttled or the message rejected
            raise DependencyUnavailable(detail=f"ses send_email: {error}") from error
