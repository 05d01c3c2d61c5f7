"""The local outbox: every email (SES v1/v2) and SMS (SNS) the service sent, read from moto's in-process backends.

Local stage only (``GET /_local/outbox``): the local stack runs moto inside the serving process, so sent mail is
already in memory. moto is imported lazily, so this module imports cleanly in the Lambda package, where moto is
absent; there, and whenever moto is not loaded, the outbox is empty. ``sent_at`` comes from the stamp that
``infra/local/emulators.py`` puts on each message when moto builds it (first time seen here otherwise).
"""

from __future__ import annotations

import email
import email.policy
import html
import re
import sys
from datetime import UTC, datetime
from email.utils import getaddresses
from typing import Any

SENT_AT_ATTRIBUTE = "gatehouse_sent_at"  # set by infra/local/emulators.py
_URL = re.compile(r"https?://[^\s<>\"'`]+")
_TAG = re.compile(r"<[^>]+>")
_HTML_HINT = re.compile(r"<\s*(html|body|p|a|div|br|table|span|h[1-6])\b", re.IGNORECASE)
_first_seen: dict[int, datetime] = {}


def read_outbox() -> list[dict[str, Any]]:
    """Every sent email and SMS, newest first: to, subject, text, html, links, sent_at (ISO-8601 UTC), channel."""
    if "moto" not in sys.modules:
        return []
    from moto.ses.models import ses_backends
    from moto.sns.models import sns_backends

    entries: list[tuple[datetime, int, dict[str, Any]]] = []
    for backend in _backends(ses_backends):
        for message in list(backend.sent_messages):
            entries.append((_sent_at(message), len(entries), _email_entry(message)))
    for backend in _backends(sns_backends):
        for sms in list(backend.sms_message_objects.values()):
            text = str(sms.message)
            entry = _entry("sms", [str(sms.phone_number)], None, text, None)
            entries.append((_sent_at(sms), len(entries), entry))
        for topic in list(backend.topics.values()):  # security alerts published to topics
            for notification in list(topic.sent_notifications):
                alert = _alert(topic.arn, notification[2], notification[1])
                entries.append((_sent_at(notification), len(entries), alert))
    entries.sort(key=lambda item: (item[0], item[1]), reverse=True)
    return [entry | {"sent_at": sent_at.isoformat().replace("+00:00", "Z")} for sent_at, _, entry in entries]


def _alert(topic_arn: str, subject: str | None, message: str) -> dict[str, Any]:
    return {"to": [topic_arn], "subject": subject, "text": message, "html": None, "links": [], "channel": "alert"}


def _backends(backend_dict: Any) -> list[Any]:
    return [backend for account in list(backend_dict.values()) for backend in list(account.values())]


def _sent_at(message: Any) -> datetime:
    stamped = getattr(message, SENT_AT_ATTRIBUTE, None)
    if isinstance(stamped, datetime):
        return stamped
    return _first_seen.setdefault(id(message), datetime.now(UTC))


def _email_entry(message: Any) -> dict[str, Any]:
    if hasattr(message, "raw_data"):
        return _raw_email_entry(message)
    recipients = [
        address
        for field in ("ToAddresses", "CcAddresses", "BccAddresses")
        for address in message.destinations.get(field, [])
    ]
    if hasattr(message, "template"):  # templated send: moto keeps the template name and data, not the rendering
        text = f"template {message.template}: {message.template_data}"
        return _entry("email", recipients, None, text, None)
    body = str(message.body or "")
    if _HTML_HINT.search(body):
        return _entry("email", recipients, message.subject, _html_to_text(body), body)
    return _entry("email", recipients, message.subject, body, None)


def _raw_email_entry(message: Any) -> dict[str, Any]:
    parsed = email.message_from_string(message.raw_data, policy=email.policy.default)
    text_part = parsed.get_body(preferencelist=("plain",))
    html_part = parsed.get_body(preferencelist=("html",))
    html_body = html_part.get_content() if html_part is not None else None
    text = text_part.get_content() if text_part is not None else _html_to_text(html_body or "")
    header_recipients = [str(parsed[field]) for field in ("To", "Cc") if parsed[field]]
    recipients = list(
        dict.fromkeys(address for _, address in getaddresses([*message.destinations, *header_recipients]) if address)
    )
    subject = str(parsed["Subject"]) if parsed["Subject"] is not None else None
    return _entry("email", recipients, subject, text, html_body)


def _entry(channel: str, to: list[str], subject: str | None, text: str, html_body: str | None) -> dict[str, Any]:
    return {
        "to": to,
        "subject": subject,
        "text": text,
        "html": html_body,
        "links": _links(text, html_body),
        "channel": channel,
    }


def _links(text: str, html_body: str | None) -> list[str]:
    found = _URL.findall(text) + (_URL.findall(html.unescape(html_body)) if html_body else [])
    return list(dict.fromkeys(url.rstrip(".,;:!?)]}") for url in found))


def _html_to_text(body: str) -> str:
    without_blocks = re.sub(r"(?is)<(script|style)\b.*?</\1>", "", body)
    spaced = re.sub(r"(?i)<\s*(br|/p|/div|/h[1-6]|/li|/tr)\b[^>]*>", "\n", without_blocks)
    text = html.unescape(_TAG.sub("", spaced))
    return "\n".join(line.strip() for line in text.splitlines() if line.strip())
