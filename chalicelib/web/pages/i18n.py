"""Localisation of the hosted pages: locale negotiation and the message catalog.

``negotiate_locale`` picks the page language from the OIDC ``ui_locales`` parameter (which wins) or the
``Accept-Language`` header, matching on the primary subtag (``de-CH`` -> ``de``). ``translate`` looks a key up in
``MESSAGES`` with ``str.format`` placeholders, falling back to English and then to the key itself.

Catalog strings are plain text (never HTML): templates autoescape them together with their arguments.
Keys a caller may use directly (e.g. for ``error``/``field_errors`` on the login page or for the error page) are
the ``login.error.*`` and ``error.*`` entries.
"""

from __future__ import annotations

import re
from typing import Final

SUPPORTED_LOCALES: Final = ("en", "de", "fr")
DEFAULT_LOCALE: Final = "en"

KNOWN_SCOPES: Final = ("openid", "profile", "email", "phone", "address", "offline_access")

# Header values are attacker-controlled: bound the work done on them.
_MAX_HEADER_CHARS: Final = 1024
_MAX_ITEMS: Final = 32
_LANGUAGE_TAG: Final = re.compile(r"[A-Za-z]{1,8}(?:[-_][A-Za-z0-9]{1,8})*")
_QVALUE: Final = re.compile(r"0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?")
_SUBTAG_SEPARATOR: Final = re.compile(r"[-_]")

_NBSP: Final = "\u00a0"  # French typography: no-break space before ':' and '?'

MESSAGES: Final[dict[str, dict[str, str]]] = {
    "en": {
        "brand.fallback_name": "Account",
        "common.skip_link": "Skip to main content",
        "common.error_summary_title": "There is a problem",
        "common.error_prefix": "Error:",
        "common.or": "or",
        "login.title": "Sign in",
        "login.heading": "Sign in",
        "login.intro_client": "to continue to {client}",
        "login.email_label": "Email address",
        "login.password_label": "Password",
        "login.submit": "Sign in",
        "login.forgot_password": "Forgot your password?",
        "login.no_account": "Don't have an account?",
        "login.create_account": "Create account",
        "login.providers_heading": "Sign in with another account",
        "login.continue_with": "Continue with {provider}",
        "login.error.invalid_credentials": "The email address or password is incorrect.",
        "login.error.email_required": "Enter your email address.",
        "login.error.email_invalid": "Enter an email address in the correct format, like name@example.com.",
        "login.error.password_required": "Enter your password.",
        "login.error.too_many_attempts": "Too many sign-in attempts. Wait a few minutes and try again.",
        "login.error.account_disabled": "This account is disabled.",
        "login.error.unverified": "Please verify your email address before signing in.",
        "consent.title": "Allow access",
        "consent.heading": "{client} wants to access your account",
        "consent.signed_in_as": "Signed in as {email}",
        "consent.scopes_intro": "{client} would like to:",
        "consent.allow": "Allow",
        "consent.deny": "Deny",
        "scope.openid": "Confirm your identity",
        "scope.profile": "See your basic profile (name, picture, language)",
        "scope.email": "See your email address",
        "scope.phone": "See your phone number",
        "scope.address": "See your postal address",
        "scope.offline_access": "Access your account while you are not using the application",
        "error.default_title": "Something went wrong",
        "error.code": "Error code: {code}",
        "error.help": "You can close this page and try again from the application.",
        "error.invalid_request": "The request is invalid or incomplete.",
        "error.session_expired": "Your session has expired. Start again from the application.",
        "error.csrf": "This form has expired. Go back, reload the page and try again.",
        "error.not_found": "The page you are looking for does not exist.",
        "error.server_error": "An unexpected error occurred. Try again later.",
        "logout.title": "Sign out",
        "logout.question": "Do you want to sign out?",
        "logout.question_client": "{client} asks you to sign out. Do you want to sign out?",
        "logout.submit": "Sign out",
        "logged_out.title": "You are signed out",
        "logged_out.message": "You can now close this window.",
        "logged_out.return": "Return to the application",
        "logged_out.return_client": "Return to {client}",
        "callback.title": "Sign-in response",
        "callback.intro": "This page stands in for the client application on the local stage "
        "and shows the parameters it received.",
        "callback.caption": "Parameters received",
        "callback.name": "Parameter",
        "callback.value": "Value",
        "callback.empty": "No parameters were received.",
    },
    "de": {
        "brand.fallback_name": "Konto",
        "common.skip_link": "Zum Hauptinhalt springen",
        "common.error_summary_title": "Es ist ein Problem aufgetreten",
        "common.error_prefix": "Fehler:",
        "common.or": "oder",
        "login.title": "Anmelden",
        "login.heading": "Anmelden",
        "login.intro_client": "um mit {client} fortzufahren",
        "login.email_label": "E-Mail-Adresse",
        "login.password_label": "Passwort",
        "login.submit": "Anmelden",
        "login.forgot_password": "Passwort vergessen?",
        "login.no_account": "Noch kein Konto?",
        "login.create_account": "Konto erstellen",
        "login.providers_heading": "Mit einem anderen Konto anmelden",
        "login.continue_with": "Weiter mit {provider}",
        "login.error.invalid_credentials": "Die E-Mail-Adresse oder das Passwort ist falsch.",
        "login.error.email_required": "Geben Sie Ihre E-Mail-Adresse ein.",
        "login.error.email_invalid": "Geben Sie eine gültige E-Mail-Adresse ein, z.\u00a0B. name@example.com.",
        "login.error.password_required": "Geben Sie Ihr Passwort ein.",
        "login.error.too_many_attempts": "Zu viele Anmeldeversuche. "
        "Warten Sie einige Minuten und versuchen Sie es erneut.",
        "login.error.account_disabled": "Dieses Konto ist deaktiviert.",
        "login.error.unverified": "Bitte bestätigen Sie zuerst Ihre E-Mail-Adresse.",
        "consent.title": "Zugriff erlauben",
        "consent.heading": "{client} möchte auf Ihr Konto zugreifen",
        "consent.signed_in_as": "Angemeldet als {email}",
        "consent.scopes_intro": "{client} möchte:",
        "consent.allow": "Erlauben",
        "consent.deny": "Ablehnen",
        "scope.openid": "Ihre Identität bestätigen",
        "scope.profile": "Ihr Basisprofil sehen (Name, Bild, Sprache)",
        "scope.email": "Ihre E-Mail-Adresse sehen",
        "scope.phone": "Ihre Telefonnummer sehen",
        "scope.address": "Ihre Postanschrift sehen",
        "scope.offline_access": "Auf Ihr Konto zugreifen, während Sie die Anwendung nicht nutzen",
        "error.default_title": "Etwas ist schiefgelaufen",
        "error.code": "Fehlercode: {code}",
        "error.help": "Sie können diese Seite schließen und es in der Anwendung erneut versuchen.",
        "error.invalid_request": "Die Anfrage ist ungültig oder unvollständig.",
        "error.session_expired": "Ihre Sitzung ist abgelaufen. Beginnen Sie erneut in der Anwendung.",
        "error.csrf": "Dieses Formular ist abgelaufen. "
        "Gehen Sie zurück, laden Sie die Seite neu und versuchen Sie es erneut.",
        "error.not_found": "Die gesuchte Seite existiert nicht.",
        "error.server_error": "Ein unerwarteter Fehler ist aufgetreten. Versuchen Sie es später erneut.",
        "logout.title": "Abmelden",
        "logout.question": "Möchten Sie sich abmelden?",
        "logout.question_client": "{client} bittet Sie, sich abzumelden. Möchten Sie sich abmelden?",
        "logout.submit": "Abmelden",
        "logged_out.title": "Sie sind abgemeldet",
        "logged_out.message": "Sie können dieses Fenster jetzt schließen.",
        "logged_out.return": "Zurück zur Anwendung",
        "logged_out.return_client": "Zurück zu {client}",
        "callback.title": "Anmeldeantwort",
        "callback.intro": "Diese Seite vertritt auf der lokalen Stufe die Client-Anwendung "
        "und zeigt die empfangenen Parameter.",
        "callback.caption": "Empfangene Parameter",
        "callback.name": "Parameter",
        "callback.value": "Wert",
        "callback.empty": "Es wurden keine Parameter empfangen.",
    },
    "fr": {
        "brand.fallback_name": "Compte",
        "common.skip_link": "Aller au contenu principal",
        "common.error_summary_title": "Un problème est survenu",
        "common.error_prefix": f"Erreur{_NBSP}:",
        "common.or": "ou",
        "login.title": "Se connecter",
        "login.heading": "Se connecter",
        "login.intro_client": "pour continuer vers {client}",
        "login.email_label": "Adresse e-mail",
        "login.password_label": "Mot de passe",
        "login.submit": "Se connecter",
        "login.forgot_password": f"Mot de passe oublié{_NBSP}?",
        "login.no_account": f"Vous n'avez pas de compte{_NBSP}?",
        "login.create_account": "Créer un compte",
        "login.providers_heading": "Se connecter avec un autre compte",
        "login.continue_with": "Continuer avec {provider}",
        "login.error.invalid_credentials": "L'adresse e-mail ou le mot de passe est incorrect.",
        "login.error.email_required": "Saisissez votre adresse e-mail.",
        "login.error.email_invalid": "Saisissez une adresse e-mail valide, par exemple nom@example.com.",
        "login.error.password_required": "Saisissez votre mot de passe.",
        "login.error.too_many_attempts": "Trop de tentatives de connexion. Patientez quelques minutes et réessayez.",
        "login.error.account_disabled": "Ce compte est désactivé.",
        "login.error.unverified": "Veuillez d'abord confirmer votre adresse e-mail.",
        "consent.title": "Autoriser l'accès",
        "consent.heading": "{client} souhaite accéder à votre compte",
        "consent.signed_in_as": "Connecté en tant que {email}",
        "consent.scopes_intro": f"{{client}} souhaite{_NBSP}:",
        "consent.allow": "Autoriser",
        "consent.deny": "Refuser",
        "scope.openid": "Confirmer votre identité",
        "scope.profile": "Voir votre profil de base (nom, photo, langue)",
        "scope.email": "Voir votre adresse e-mail",
        "scope.phone": "Voir votre numéro de téléphone",
        "scope.address": "Voir votre adresse postale",
        "scope.offline_access": "Accéder à votre compte lorsque vous n'utilisez pas l'application",
        "error.default_title": "Une erreur s'est produite",
        "error.code": f"Code d'erreur{_NBSP}: {{code}}",
        "error.help": "Vous pouvez fermer cette page et réessayer depuis l'application.",
        "error.invalid_request": "La requête est invalide ou incomplète.",
        "error.session_expired": "Votre session a expiré. Recommencez depuis l'application.",
        "error.csrf": "Ce formulaire a expiré. Revenez en arrière, rechargez la page et réessayez.",
        "error.not_found": "La page que vous recherchez n'existe pas.",
        "error.server_error": "Une erreur inattendue s'est produite. Réessayez plus tard.",
        "logout.title": "Se déconnecter",
        "logout.question": f"Voulez-vous vous déconnecter{_NBSP}?",
        "logout.question_client": f"{{client}} vous demande de vous déconnecter. Voulez-vous vous déconnecter{_NBSP}?",
        "logout.submit": "Se déconnecter",
        "logged_out.title": "Vous êtes déconnecté",
        "logged_out.message": "Vous pouvez maintenant fermer cette fenêtre.",
        "logged_out.return": "Retourner à l'application",
        "logged_out.return_client": "Retourner à {client}",
        "callback.title": "Réponse de connexion",
        "callback.intro": "Cette page remplace l'application cliente sur l'environnement local "
        "et affiche les paramètres reçus.",
        "callback.caption": "Paramètres reçus",
        "callback.name": "Paramètre",
        "callback.value": "Valeur",
        "callback.empty": "Aucun paramètre n'a été reçu.",
    },
}


class _KeepMissing(dict[str, object]):
    """Format arguments that leave an unknown placeholder visible instead of raising."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def translate(locale: str, key: str, **kwargs: object) -> str:
    """The message ``key`` in ``locale`` (else English, else the key itself), formatted with ``kwargs``."""
    message = _lookup(locale, key)
    if message is None:
        return key
    return message.format_map(_KeepMissing(kwargs))


def describe_scope(locale: str, name: str, description: str = "") -> str:
    """What granting ``name`` means: the client's description, else our text for a standard scope, else the name."""
    if description.strip():
        return description
    if name in KNOWN_SCOPES:
        return translate(locale, f"scope.{name}")
    return name


def negotiate_locale(ui_locales: str | None, accept_language: str | None) -> str:
    """The page locale: first supported ``ui_locales`` tag, else best ``Accept-Language`` match, else English."""
    return _from_ui_locales(ui_locales) or _from_accept_language(accept_language) or DEFAULT_LOCALE


def _lookup(locale: str, key: str) -> str | None:
    catalog = MESSAGES.get(locale) or {}
    return catalog.get(key) or MESSAGES[DEFAULT_LOCALE].get(key)


def _supported(tag: str) -> str | None:
    """The supported locale a BCP47 tag falls under by its primary subtag, if any."""
    if not _LANGUAGE_TAG.fullmatch(tag):
        return None
    primary = _SUBTAG_SEPARATOR.split(tag, maxsplit=1)[0].lower()
    return primary if primary in SUPPORTED_LOCALES else None


def _from_ui_locales(value: str | None) -> str | None:
    if not isinstance(value, str):
        return None
    for tag in value[:_MAX_HEADER_CHARS].split()[:_MAX_ITEMS]:
        locale = _supported(tag)
        if locale:
            return locale
    return None


def _from_accept_language(value: str | None) -> str | None:
    if not isinstance(value, str):
        return None
    ranges = [r for r in map(_parse_range, value[:_MAX_HEADER_CHARS].split(",")[:_MAX_ITEMS]) if r is not None]
    excluded = {_supported(tag) for tag, q in ranges if q == 0}
    # sorted() is stable: equal q-values keep header order.
    for tag, _q in sorted((r for r in ranges if r[1] > 0), key=lambda r: -r[1]):
        locale = _wildcard(excluded) if tag == "*" else _supported(tag)
        if locale:
            return locale
    return None


def _wildcard(excluded: set[str | None]) -> str | None:
    """``*`` accepts any language not explicitly refused with ``q=0``."""
    if DEFAULT_LOCALE not in excluded:
        return DEFAULT_LOCALE
    return next((locale for locale in SUPPORTED_LOCALES if locale not in excluded), None)


def _parse_range(item: str) -> tuple[str, float] | None:
    """``"de-CH;q=0.8"`` -> ``("de-CH", 0.8)``; None for a malformed range."""
    tag, *params = (part.strip() for part in item.split(";"))
    if not tag:
        return None
    q = 1.0
    for param in params:
        name, _sep, raw = param.partition("=")
        if name.strip().lower() != "q":
            continue
        raw = raw.strip()
        if not _QVALUE.fullmatch(raw):
            return None
        q = float(raw)
    return tag, q
