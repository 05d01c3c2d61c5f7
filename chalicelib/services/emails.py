"""Transactional email: verification, reminder, invitation, reset, notices; a text and an HTML part each.

Messages are a few sentences with at most one action link, in the tenant's branding (display name as the sender
name and in the text, brand colour on the button, logo when it is an https URL). The HTML part is rendered by
Jinja2 with autoescaping (names and addresses are user input); Jinja2 loads on the first message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from chalicelib.core.ids import NodeId, TenantId
from chalicelib.core.ports import EmailSender

if TYPE_CHECKING:
    import jinja2

    from chalicelib.services.tenants import TenantService

TEMPLATES = Path(__file__).resolve().parent / "templates"
DEFAULT_COLOR = "#2f5bea"
HEX_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


@dataclass(frozen=True)
class Spec:
    subject: str
    heading: str
    intro: str
    action: str = ""
    outro: str = ""


SPECS: dict[str, Spec] = {
    "verify_email": Spec(
        "Verify your email address for {brand}",
        "Confirm your email address",
        "Thanks for signing up for {brand}. Confirm that this is your email address to activate your account.",
        "Verify email address",
        "This link expires in {validity} and works once. If you did not sign up, ignore this email: the "
        "unverified account will be removed.",
    ),
    "verify_email_reminder": Spec(
        "Reminder: verify your email address for {brand}",
        "Your account is waiting",
        "You signed up for {brand} but have not confirmed your email address yet. Confirm it to activate your account.",
        "Verify email address",
        "This link expires in {validity}. After that the unverified account and everything in it is deleted.",
    ),
    "invitation": Spec(
        "You're invited to {brand}",
        "You have been invited",
        "An account for {brand} was created for {email}. Choose a password to activate it.",
        "Set your password",
        "This link expires in {validity} and works once.",
    ),
    "invitation_reminder": Spec(
        "Reminder: your invitation to {brand}",
        "Your invitation is waiting",
        "An account for {brand} was created for {email} and still needs a password. Choose one to activate it.",
        "Set your password",
        "This link expires in {validity}. After that the invitation is withdrawn and the account deleted.",
    ),
    "account_exists": Spec(
        "Sign-up attempt with your email address",
        "You already have an account",
        "Someone, hopefully you, tried to create a {brand} account with this email address. It already has an "
        "account, so no new one was created. If you forgot your password, you can reset it.",
        "Reset your password",
        "If this was not you, you can ignore this email. Nothing has changed.",
    ),
    "password_reset": Spec(
        "Reset your {brand} password",
        "Reset your password",
        "We received a request to reset the password of your {brand} account.",
        "Choose a new password",
        "This link expires in {validity} and works once. If you did not ask for it, ignore this email: your "
        "password stays unchanged.",
    ),
    "password_changed": Spec(
        "Your {brand} password was changed",
        "Your password was changed",
        "The password of your {brand} account was just changed, and every device signed in to it was signed out.",
        "",
        "If you did not do this, reset your password right away and contact support.",
    ),
    "email_change": Spec(
        "Confirm your new email address for {brand}",
        "Confirm your new email address",
        "You asked to use this address for your {brand} account. Confirm it to make the change.",
        "Confirm new email address",
        "This link expires in {validity} and works once. Until you confirm, your current address stays in use.",
    ),
    "email_in_use": Spec(
        "Email change attempt for {brand}",
        "This address already has an account",
        "Someone asked to move another {brand} account to this email address, but it already belongs to an "
        "account. Nothing was changed.",
        "",
        "If this was not you, you can ignore this email.",
    ),
    "email_changed": Spec(
        "Your {brand} email address was changed",
        "Your email address was changed",
        "The email address of your {brand} account was changed to {new_email}. From now on, sign in with the new "
        "address.",
        "",
        "If you did not do this, contact support right away.",
    ),
    "data_export_ready": Spec(
        "Your {brand} data export is ready",
        "Your data export is ready",
        "The copy of your personal data you asked for is ready: your profile, sign-in methods, consents, sessions "
        "and sign-in activity, in one JSON file.",
        "Download your data",
        "The link works once, only while you are signed in to your account, and expires in {validity}. If you did "
        "not ask for this, change your password.",
    ),
    "account_deletion_scheduled": Spec(
        "Your {brand} account will be deleted",
        "Your account is scheduled for deletion",
        "You asked to delete your {brand} account. It will be deleted for good in {validity}, with all your "
        "personal data, and every device was signed out.",
        "",
        "Changed your mind? Sign in before then and the deletion is cancelled.",
    ),
    "account_deletion_cancelled": Spec(
        "Your {brand} account will not be deleted",
        "Account deletion cancelled",
        "You signed in to your {brand} account, so the deletion you asked for was cancelled.",
        "",
        "If you still want to delete it, ask again in your account settings.",
    ),
    "account_deleted": Spec(
        "Your {brand} account was deleted",
        "Your account was deleted",
        "As you asked, your {brand} account and the personal data in it were deleted.",
        "",
        "This is the last email you receive from us about this account.",
    ),
}


def validity(seconds: int) -> str:
    """``86400`` -> ``"24 hours"``: how long a link stays valid, in the largest unit that reads naturally."""
    for size, unit in ((86400 * 2, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            count = seconds // (size if unit != "day" else 86400)
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


def _text_color(color: str) -> str:
    r, g, b = (int(color[i : i + 2], 16) / 255 for i in (1, 3, 5))
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return "#000000" if luminance > 0.45 else "#ffffff"


def branding_of(values: dict[str, Any], fallback_name: str) -> dict[str, str]:
    color = str(values.get("primary_color") or "")
    color = color if HEX_COLOR.match(color) else DEFAULT_COLOR
    logo = str(values.get("logo_url") or "")
    return {
        "name": str(values.get("display_name") or "").strip() or fallback_name,
        "color": color,
        "on_color": _text_color(color),
        "logo_url": logo if urlsplit(logo).scheme == "https" else "",
    }


class _Fields(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""


@cache
def _environment() -> jinja2.Environment:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        auto_reload=False,
    )


def compose(kind: str, branding: dict[str, str], *, link: str = "", **values: Any) -> tuple[str, str, str]:
    """(subject, text, html) of message ``kind``."""
    spec = SPECS[kind]
    fields = _Fields(brand=branding["name"], **values)
    if "validity_seconds" in values:
        fields["validity"] = validity(int(values["validity_seconds"]))
    names = ("subject", "heading", "intro", "action", "outro")
    parts = {name: getattr(spec, name).format_map(fields) for name in names}
    lines = [parts["heading"], "", parts["intro"], ""]
    if link and parts["action"]:
        lines += [f"{parts['action']}:", link, ""]
    if parts["outro"]:
        lines += [parts["outro"], ""]
    lines.append(f"-- {branding['name']}")
    html = _environment().get_template("email.html").render(branding=branding, link=link, **parts)
    return parts["subject"], "\n".join(lines) + "\n", html


class Mailer:
    def __init__(self, sender: EmailSender, tenants: TenantService) -> None:
        self._sender = sender
        self._tenants = tenants

    def send(self, kind: str, *, tenant_id: TenantId, node_id: NodeId, to: str, link: str = "", **values: Any) -> None:
        """Compose and send; raises DependencyUnavailable when the mail service refuses or cannot be reached."""
        settings = self._tenants.effective(tenant_id, node_id).section("branding")
        branding = branding_of(settings, self._tenants.tree(tenant_id).root.name)
        subject, text, html = compose(kind, branding, link=link, **values)
        self._sender.send(to=to, subject=subject, text=text, html=html, from_name=branding["name"])


# Adaptive authentication: the notice of a sign-in from a device the user's history does not know.
SPECS["new_device_signin"] = Spec(
    "New sign-in to your {brand} account",
    "A new device signed in",
    "Your {brand} account was just signed in to from a device we have not seen before: {device}, near {place}.",
    "",
    "If this was you, there is nothing to do. If not, change your password right away and contact support.",
)
