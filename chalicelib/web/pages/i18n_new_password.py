"""Catalog entries of the hosted login's "Choose a new password" step (merged into ``i18n.MESSAGES``); plain text."""

from __future__ import annotations

from typing import Final

NEW_PASSWORD_MESSAGES: Final[dict[str, dict[str, str]]] = {
    "en": {
        "new_password.title": "Choose a new password",
        "new_password.heading": "Choose a new password",
        "new_password.intro": "The password of {email} no longer meets this service's password rules. "
        "Choose a new one to continue.",
        "new_password.password_label": "New password",
        "new_password.submit": "Save and continue to {client}",
        "new_password.submit_plain": "Save and continue",
        "new_password.error.unchanged": "Choose a password different from your current one.",
    },
    "de": {
        "new_password.title": "Neues Passwort wählen",
        "new_password.heading": "Neues Passwort wählen",
        "new_password.intro": "Das Passwort von {email} erfüllt die Passwortregeln dieses Dienstes nicht mehr. "
        "Wählen Sie ein neues, um fortzufahren.",
        "new_password.password_label": "Neues Passwort",
        "new_password.submit": "Speichern und weiter zu {client}",
        "new_password.submit_plain": "Speichern und weiter",
        "new_password.error.unchanged": "Wählen Sie ein anderes Passwort als Ihr bisheriges.",
    },
    "fr": {
        "new_password.title": "Choisissez un nouveau mot de passe",
        "new_password.heading": "Choisissez un nouveau mot de passe",
        "new_password.intro": "Le mot de passe de {email} ne respecte plus les règles de mot de passe de ce "
        "service. Choisissez-en un nouveau pour continuer.",
        "new_password.password_label": "Nouveau mot de passe",
        "new_password.submit": "Enregistrer et continuer vers {client}",
        "new_password.submit_plain": "Enregistrer et continuer",
        "new_password.error.unchanged": "Choisissez un mot de passe différent de l'actuel.",
    },
}
