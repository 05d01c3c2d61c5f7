"""Catalog entries of the passkey parts of the hosted pages (merged into ``i18n.MESSAGES``); plain text."""

from __future__ import annotations

from typing import Final

PASSKEY_MESSAGES: Final[dict[str, dict[str, str]]] = {
    "en": {
        "passkey.needs_script": "Passkeys need JavaScript, which is turned off in this browser. "
        "Use another way to verify below, or turn JavaScript on.",
        "passkey.failed": "The passkey was not used. Try again, or choose another way.",
        "passkey.use": "Use your passkey",
        "passkey.signin": "Sign in with a passkey",
        "passkey.error.not_accepted": "This passkey was not accepted. Try again, or sign in another way.",
        "passkey.enroll.title": "Add a passkey",
        "passkey.enroll.heading": "Add a passkey",
        "passkey.enroll.intro": "A passkey lets you sign in with your fingerprint, face or screen lock instead "
        "of a code. It stays on your device or in your password manager.",
        "passkey.enroll.name_label": "Name (optional)",
        "passkey.enroll.name_placeholder": "For example: Work laptop",
        "passkey.enroll.submit": "Create a passkey",
        "passkey.enroll.other_methods": "Use another method",
        "mfa.challenge.intro.webauthn": "Use your passkey ({target}) to confirm it's you.",
        "mfa.use.webauthn": "Use your passkey ({target})",
        "mfa.enroll.webauthn": "Passkey",
        "account.mfa.kind.webauthn": "Passkey",
        "account.passkey.add": "Add a passkey",
        "account.passkey.hint": "Sign in with your fingerprint, face or screen lock instead of a code.",
        "account.done.passkey_added": "Your passkey was added.",
        "account.event.account.mfa_added": "Two-step method added",
    },
    "de": {
        "passkey.needs_script": "Passkeys benötigen JavaScript, das in diesem Browser ausgeschaltet ist. "
        "Bestätigen Sie unten auf andere Weise oder schalten Sie JavaScript ein.",
        "passkey.failed": "Der Passkey wurde nicht verwendet. Versuchen Sie es erneut oder wählen Sie einen "
        "anderen Weg.",
        "passkey.use": "Passkey verwenden",
        "passkey.signin": "Mit einem Passkey anmelden",
        "passkey.error.not_accepted": "Dieser Passkey wurde nicht akzeptiert. Versuchen Sie es erneut oder "
        "melden Sie sich anders an.",
        "passkey.enroll.title": "Passkey hinzufügen",
        "passkey.enroll.heading": "Passkey hinzufügen",
        "passkey.enroll.intro": "Mit einem Passkey melden Sie sich per Fingerabdruck, Gesicht oder "
        "Bildschirmsperre an statt mit einem Code. Er bleibt auf Ihrem Gerät oder in Ihrem Passwort-Manager.",
        "passkey.enroll.name_label": "Name (optional)",
        "passkey.enroll.name_placeholder": "Zum Beispiel: Arbeitslaptop",
        "passkey.enroll.submit": "Passkey erstellen",
        "passkey.enroll.other_methods": "Andere Methode verwenden",
        "mfa.challenge.intro.webauthn": "Bestätigen Sie mit Ihrem Passkey ({target}), dass Sie es sind.",
        "mfa.use.webauthn": "Passkey verwenden ({target})",
        "mfa.enroll.webauthn": "Passkey",
        "account.mfa.kind.webauthn": "Passkey",
        "account.passkey.add": "Passkey hinzufügen",
        "account.passkey.hint": "Melden Sie sich per Fingerabdruck, Gesicht oder Bildschirmsperre an statt mit "
        "einem Code.",
        "account.done.passkey_added": "Ihr Passkey wurde hinzugefügt.",
        "account.event.account.mfa_added": "Methode der zweistufigen Anmeldung hinzugefügt",
    },
    "fr": {
        "passkey.needs_script": "Les clés d'accès nécessitent JavaScript, désactivé dans ce navigateur. "
        "Utilisez un autre moyen ci-dessous ou activez JavaScript.",
        "passkey.failed": "La clé d'accès n'a pas été utilisée. Réessayez ou choisissez un autre moyen.",
        "passkey.use": "Utiliser votre clé d'accès",
        "passkey.signin": "Se connecter avec une clé d'accès",
        "passkey.error.not_accepted": "Cette clé d'accès n'a pas été acceptée. Réessayez ou connectez-vous autrement.",
        "passkey.enroll.title": "Ajouter une clé d'accès",
        "passkey.enroll.heading": "Ajouter une clé d'accès",
        "passkey.enroll.intro": "Une clé d'accès vous permet de vous connecter avec votre empreinte, votre visage "
        "ou le verrouillage de l'écran au lieu d'un code. Elle reste sur votre appareil ou dans votre "
        "gestionnaire de mots de passe.",
        "passkey.enroll.name_label": "Nom (facultatif)",
        "passkey.enroll.name_placeholder": "Par exemple\u00a0: ordinateur du bureau",
        "passkey.enroll.submit": "Créer une clé d'accès",
        "passkey.enroll.other_methods": "Utiliser une autre méthode",
        "mfa.challenge.intro.webauthn": "Confirmez votre identité avec votre clé d'accès ({target}).",
        "mfa.use.webauthn": "Utiliser votre clé d'accès ({target})",
        "mfa.enroll.webauthn": "Clé d'accès",
        "account.mfa.kind.webauthn": "Clé d'accès",
        "account.passkey.add": "Ajouter une clé d'accès",
        "account.passkey.hint": "Connectez-vous avec votre empreinte, votre visage ou le verrouillage de l'écran "
        "au lieu d'un code.",
        "account.done.passkey_added": "Votre clé d'accès a été ajoutée.",
        "account.event.account.mfa_added": "Méthode de validation en deux étapes ajoutée",
    },
}
