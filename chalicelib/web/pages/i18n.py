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

from chalicelib.web.pages.account_messages import ACCOUNT_DE, ACCOUNT_EN, ACCOUNT_FR

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
        "login.resend_intro": "Didn't get the verification email?",
        "login.resend_button": "Send a new verification link",
        "register.title": "Create account",
        "register.heading": "Create your account",
        "register.password_label": "Choose a password",
        "register.password_hint": "Use at least {min_length} characters. A few unrelated words make a strong "
        "password; avoid common passwords and your email address.",
        "register.optional": "optional",
        "register.captcha_local_label": "Verification code (local test verifier)",
        "register.submit": "Create account",
        "register.hint.date": "Format: YYYY-MM-DD",
        "register.error.password_required": "Choose a password.",
        "register.error.password_too_short": "The password is too short.",
        "register.error.password_too_long": "The password is too long.",
        "register.error.password_contains_email": "The password must not contain your email address.",
        "register.error.password_common": "This password is one of the most common ones. Choose another one.",
        "register.error.password_too_weak": "This password is too easy to guess. Try a longer passphrase.",
        "register.error.captcha": "Complete the human verification and try again.",
        "register.error.attribute_required": "This field is required.",
        "register.error.attribute_invalid": "Enter a valid value.",
        "register.error.attribute_format": "This value is not in the expected format.",
        "register.error.attribute_too_long": "This value is too long.",
        "register.error.retry": "We could not complete your registration right now. Nothing was saved; please "
        "try again.",
        "attribute.name": "Full name",
        "attribute.given_name": "First name",
        "attribute.family_name": "Last name",
        "attribute.nickname": "Nickname",
        "attribute.birthdate": "Date of birth",
        "attribute.phone_number": "Phone number",
        "attribute.website": "Website",
        "attribute.locale": "Language",
        "check_email.title": "Check your inbox",
        "check_email.registration": "If this address can be registered, we sent a link to it. Open the link to "
        "verify your email address and finish creating your account.",
        "check_email.resent": "If an account is waiting for verification at this address, we sent it a new "
        "link. Earlier links no longer work.",
        "check_email.reset": "If an account uses this address, we sent it a link to choose a new password.",
        "check_email.email_change": "We sent a link to your new address. Open it to confirm the change; until "
        "then, keep signing in with your current address.",
        "check_email.retry": "We could not send the email right now. Please try again in a moment.",
        "check_email.not_received": "Didn't get the email? Check your spam folder, or ask for a new link.",
        "check_email.resend": "Send a new link",
        "verify.confirm.title": "Verify your email address",
        "verify.confirm.message": "Confirm your email address to activate your account.",
        "verify.confirm.button": "Verify email address",
        "verify.invalid.title": "This link does not work",
        "verify.invalid.message": "The link is invalid, was already used, or has expired. Sign in, or ask for a"
        " new link.",
        "verify.invalid.action": "Ask for a new link",
        "verify.done.title": "You're all set",
        "verify.done.message": "Your email address is verified and you are signed in. You can return to the "
        "application.",
        "verify.done.invitation": "Your password is set and your account is active. You are signed in.",
        "invitation.heading": "Accept your invitation",
        "invitation.intro": "Choose a password to activate your account.",
        "invitation.submit": "Activate account",
        "reset.heading": "Choose a new password",
        "reset.intro": "After the change, every device signed in to your account is signed out.",
        "reset.password_label": "New password",
        "reset.submit": "Change password",
        "reset.done.title": "Your password was changed",
        "reset.done.message": "Sign in with your new password. Every device that was signed in has been signed out.",
        "forgot.title": "Reset your password",
        "forgot.intro": "Enter the email address of your account and we will send you a link to choose a new password.",
        "forgot.submit": "Send link",
        "email_change.title": "Change your email address",
        "email_change.current": "Your current email address is {email}.",
        "email_change.new_label": "New email address",
        "email_change.hint": "We will send a confirmation link to the new address.",
        "email_change.submit": "Send confirmation link",
        "email_change.signed_out.title": "Sign in first",
        "email_change.signed_out": "Sign in to change the email address of your account.",
        "email_change.confirm.title": "Confirm your new email address",
        "email_change.confirm.message": "Confirm to sign in with this address from now on.",
        "email_change.confirm.button": "Confirm new address",
        "email_change.done.title": "Your email address was changed",
        "email_change.done.message": "From now on, sign in with your new email address.",
        "email_change.taken.title": "This address cannot be used",
        "email_change.error.unchanged": "This is already your email address.",
        "email_change.error.taken": "This email address belongs to another account.",
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
        "login.resend_intro": "Keine Bestätigungs-E-Mail erhalten?",
        "login.resend_button": "Neuen Bestätigungslink senden",
        "register.title": "Konto erstellen",
        "register.heading": "Erstellen Sie Ihr Konto",
        "register.password_label": "Passwort wählen",
        "register.password_hint": "Verwenden Sie mindestens {min_length} Zeichen. Einige zusammenhanglose "
        "Wörter ergeben ein starkes Passwort; vermeiden Sie gängige Passwörter und "
        "Ihre E-Mail-Adresse.",
        "register.optional": "optional",
        "register.captcha_local_label": "Prüfcode (lokaler Testprüfer)",
        "register.submit": "Konto erstellen",
        "register.hint.date": "Format: JJJJ-MM-TT",
        "register.error.password_required": "Wählen Sie ein Passwort.",
        "register.error.password_too_short": "Das Passwort ist zu kurz.",
        "register.error.password_too_long": "Das Passwort ist zu lang.",
        "register.error.password_contains_email": "Das Passwort darf Ihre E-Mail-Adresse nicht enthalten.",
        "register.error.password_common": "Dieses Passwort gehört zu den häufigsten. Wählen Sie ein anderes.",
        "register.error.password_too_weak": "Dieses Passwort ist zu leicht zu erraten. Versuchen Sie eine "
        "längere Passphrase.",
        "register.error.captcha": "Schließen Sie die Prüfung ab, dass Sie ein Mensch sind, und versuchen Sie es"
        " erneut.",
        "register.error.attribute_required": "Dieses Feld ist erforderlich.",
        "register.error.attribute_invalid": "Geben Sie einen gültigen Wert ein.",
        "register.error.attribute_format": "Dieser Wert hat nicht das erwartete Format.",
        "register.error.attribute_too_long": "Dieser Wert ist zu lang.",
        "register.error.retry": "Ihre Registrierung konnte gerade nicht abgeschlossen werden. Es wurde nichts "
        "gespeichert; bitte versuchen Sie es erneut.",
        "attribute.name": "Vollständiger Name",
        "attribute.given_name": "Vorname",
        "attribute.family_name": "Nachname",
        "attribute.nickname": "Spitzname",
        "attribute.birthdate": "Geburtsdatum",
        "attribute.phone_number": "Telefonnummer",
        "attribute.website": "Webseite",
        "attribute.locale": "Sprache",
        "check_email.title": "Prüfen Sie Ihren Posteingang",
        "check_email.registration": "Wenn diese Adresse registriert werden kann, haben wir einen Link an sie "
        "gesendet. Öffnen Sie ihn, um Ihre E-Mail-Adresse zu bestätigen und Ihr "
        "Konto fertigzustellen.",
        "check_email.resent": "Wenn unter dieser Adresse ein Konto auf Bestätigung wartet, haben wir einen "
        "neuen Link gesendet. Frühere Links funktionieren nicht mehr.",
        "check_email.reset": "Wenn ein Konto diese Adresse verwendet, haben wir einen Link zum Festlegen eines "
        "neuen Passworts gesendet.",
        "check_email.email_change": "Wir haben einen Link an Ihre neue Adresse gesendet. Öffnen Sie ihn, um die"
        " Änderung zu bestätigen; bis dahin melden Sie sich weiter mit Ihrer "
        "bisherigen Adresse an.",
        "check_email.retry": "Die E-Mail konnte gerade nicht gesendet werden. Bitte versuchen Sie es gleich erneut.",
        "check_email.not_received": "Keine E-Mail erhalten? Sehen Sie im Spam-Ordner nach oder fordern Sie "
        "einen neuen Link an.",
        "check_email.resend": "Neuen Link senden",
        "verify.confirm.title": "E-Mail-Adresse bestätigen",
        "verify.confirm.message": "Bestätigen Sie Ihre E-Mail-Adresse, um Ihr Konto zu aktivieren.",
        "verify.confirm.button": "E-Mail-Adresse bestätigen",
        "verify.invalid.title": "Dieser Link funktioniert nicht",
        "verify.invalid.message": "Der Link ist ungültig, wurde bereits verwendet oder ist abgelaufen. Melden "
        "Sie sich an oder fordern Sie einen neuen Link an.",
        "verify.invalid.action": "Neuen Link anfordern",
        "verify.done.title": "Alles erledigt",
        "verify.done.message": "Ihre E-Mail-Adresse ist bestätigt und Sie sind angemeldet. Sie können zur "
        "Anwendung zurückkehren.",
        "verify.done.invitation": "Ihr Passwort ist festgelegt und Ihr Konto aktiv. Sie sind angemeldet.",
        "invitation.heading": "Einladung annehmen",
        "invitation.intro": "Wählen Sie ein Passwort, um Ihr Konto zu aktivieren.",
        "invitation.submit": "Konto aktivieren",
        "reset.heading": "Neues Passwort wählen",
        "reset.intro": "Nach der Änderung werden alle Geräte abgemeldet, die bei Ihrem Konto angemeldet sind.",
        "reset.password_label": "Neues Passwort",
        "reset.submit": "Passwort ändern",
        "reset.done.title": "Ihr Passwort wurde geändert",
        "reset.done.message": "Melden Sie sich mit Ihrem neuen Passwort an. Alle angemeldeten Geräte wurden "
        "abgemeldet.",
        "forgot.title": "Passwort zurücksetzen",
        "forgot.intro": "Geben Sie die E-Mail-Adresse Ihres Kontos ein. Wir senden Ihnen einen Link, mit dem "
        "Sie ein neues Passwort wählen können.",
        "forgot.submit": "Link senden",
        "email_change.title": "E-Mail-Adresse ändern",
        "email_change.current": "Ihre aktuelle E-Mail-Adresse ist {email}.",
        "email_change.new_label": "Neue E-Mail-Adresse",
        "email_change.hint": "Wir senden einen Bestätigungslink an die neue Adresse.",
        "email_change.submit": "Bestätigungslink senden",
        "email_change.signed_out.title": "Bitte zuerst anmelden",
        "email_change.signed_out": "Melden Sie sich an, um die E-Mail-Adresse Ihres Kontos zu ändern.",
        "email_change.confirm.title": "Neue E-Mail-Adresse bestätigen",
        "email_change.confirm.message": "Bestätigen Sie, um sich künftig mit dieser Adresse anzumelden.",
        "email_change.confirm.button": "Neue Adresse bestätigen",
        "email_change.done.title": "Ihre E-Mail-Adresse wurde geändert",
        "email_change.done.message": "Melden Sie sich ab jetzt mit Ihrer neuen E-Mail-Adresse an.",
        "email_change.taken.title": "Diese Adresse kann nicht verwendet werden",
        "email_change.error.unchanged": "Das ist bereits Ihre E-Mail-Adresse.",
        "email_change.error.taken": "Diese E-Mail-Adresse gehört zu einem anderen Konto.",
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
        "login.resend_intro": f"Vous n'avez pas reçu l'e-mail de confirmation{_NBSP}?",
        "login.resend_button": "Envoyer un nouveau lien de confirmation",
        "register.title": "Créer un compte",
        "register.heading": "Créez votre compte",
        "register.password_label": "Choisissez un mot de passe",
        "register.password_hint": "Utilisez au moins {min_length} caractères. Quelques mots sans rapport entre "
        f"eux font un mot de passe solide{_NBSP}; évitez les mots de passe courants et votre"
        " adresse e-mail.",
        "register.optional": "facultatif",
        "register.captcha_local_label": "Code de vérification (vérificateur de test local)",
        "register.submit": "Créer le compte",
        "register.hint.date": f"Format{_NBSP}: AAAA-MM-JJ",
        "register.error.password_required": "Choisissez un mot de passe.",
        "register.error.password_too_short": "Le mot de passe est trop court.",
        "register.error.password_too_long": "Le mot de passe est trop long.",
        "register.error.password_contains_email": "Le mot de passe ne doit pas contenir votre adresse e-mail.",
        "register.error.password_common": "Ce mot de passe fait partie des plus courants. Choisissez-en un autre.",
        "register.error.password_too_weak": "Ce mot de passe est trop facile à deviner. Essayez une phrase de "
        "passe plus longue.",
        "register.error.captcha": "Terminez la vérification humaine et réessayez.",
        "register.error.attribute_required": "Ce champ est obligatoire.",
        "register.error.attribute_invalid": "Saisissez une valeur valide.",
        "register.error.attribute_format": "Cette valeur n'a pas le format attendu.",
        "register.error.attribute_too_long": "Cette valeur est trop longue.",
        "register.error.retry": f"Votre inscription n'a pas pu aboutir pour le moment. Rien n'a été enregistré{_NBSP};"
        " veuillez réessayer.",
        "attribute.name": "Nom complet",
        "attribute.given_name": "Prénom",
        "attribute.family_name": "Nom",
        "attribute.nickname": "Pseudonyme",
        "attribute.birthdate": "Date de naissance",
        "attribute.phone_number": "Numéro de téléphone",
        "attribute.website": "Site web",
        "attribute.locale": "Langue",
        "check_email.title": "Consultez votre boîte de réception",
        "check_email.registration": "Si cette adresse peut être inscrite, nous lui avons envoyé un lien. "
        "Ouvrez-le pour confirmer votre adresse e-mail et terminer la création de "
        "votre compte.",
        "check_email.resent": "Si un compte attend une confirmation à cette adresse, nous lui avons envoyé un "
        "nouveau lien. Les liens précédents ne fonctionnent plus.",
        "check_email.reset": "Si un compte utilise cette adresse, nous lui avons envoyé un lien pour choisir un"
        " nouveau mot de passe.",
        "check_email.email_change": "Nous avons envoyé un lien à votre nouvelle adresse. Ouvrez-le pour "
        f"confirmer le changement{_NBSP}; d'ici là, continuez à vous connecter avec votre "
        "adresse actuelle.",
        "check_email.retry": "L'e-mail n'a pas pu être envoyé pour le moment. Réessayez dans un instant.",
        "check_email.not_received": f"Vous n'avez pas reçu l'e-mail{_NBSP}? Vérifiez vos courriers indésirables ou "
        "demandez un nouveau lien.",
        "check_email.resend": "Envoyer un nouveau lien",
        "verify.confirm.title": "Confirmez votre adresse e-mail",
        "verify.confirm.message": "Confirmez votre adresse e-mail pour activer votre compte.",
        "verify.confirm.button": "Confirmer l'adresse e-mail",
        "verify.invalid.title": "Ce lien ne fonctionne pas",
        "verify.invalid.message": "Le lien est invalide, a déjà été utilisé ou a expiré. Connectez-vous ou "
        "demandez un nouveau lien.",
        "verify.invalid.action": "Demander un nouveau lien",
        "verify.done.title": "C'est fait",
        "verify.done.message": "Votre adresse e-mail est confirmée et vous êtes connecté. Vous pouvez revenir à"
        " l'application.",
        "verify.done.invitation": "Votre mot de passe est défini et votre compte est actif. Vous êtes connecté.",
        "invitation.heading": "Acceptez votre invitation",
        "invitation.intro": "Choisissez un mot de passe pour activer votre compte.",
        "invitation.submit": "Activer le compte",
        "reset.heading": "Choisissez un nouveau mot de passe",
        "reset.intro": "Après le changement, tous les appareils connectés à votre compte seront déconnectés.",
        "reset.password_label": "Nouveau mot de passe",
        "reset.submit": "Changer le mot de passe",
        "reset.done.title": "Votre mot de passe a été changé",
        "reset.done.message": "Connectez-vous avec votre nouveau mot de passe. Tous les appareils connectés ont"
        " été déconnectés.",
        "forgot.title": "Réinitialiser votre mot de passe",
        "forgot.intro": "Saisissez l'adresse e-mail de votre compte et nous vous enverrons un lien pour choisir"
        " un nouveau mot de passe.",
        "forgot.submit": "Envoyer le lien",
        "email_change.title": "Changer votre adresse e-mail",
        "email_change.current": "Votre adresse e-mail actuelle est {email}.",
        "email_change.new_label": "Nouvelle adresse e-mail",
        "email_change.hint": "Nous enverrons un lien de confirmation à la nouvelle adresse.",
        "email_change.submit": "Envoyer le lien de confirmation",
        "email_change.signed_out.title": "Connectez-vous d'abord",
        "email_change.signed_out": "Connectez-vous pour changer l'adresse e-mail de votre compte.",
        "email_change.confirm.title": "Confirmez votre nouvelle adresse e-mail",
        "email_change.confirm.message": "Confirmez pour vous connecter désormais avec cette adresse.",
        "email_change.confirm.button": "Confirmer la nouvelle adresse",
        "email_change.done.title": "Votre adresse e-mail a été changée",
        "email_change.done.message": "Désormais, connectez-vous avec votre nouvelle adresse e-mail.",
        "email_change.taken.title": "Cette adresse ne peut pas être utilisée",
        "email_change.error.unchanged": "C'est déjà votre adresse e-mail.",
        "email_change.error.taken": "Cette adresse e-mail appartient à un autre compte.",
    },
}

# Adaptive authentication (risk engine) messages.
MESSAGES["en"].update(
    {
        "login.error.risk_blocked": "This sign-in was blocked for your protection. "
        "If this was you, try again later or contact support.",
        "login.error.risk_second_factor": "This sign-in looks unusual and needs a second factor, "
        "but none is set up for this account. Please contact support.",
    }
)
MESSAGES["de"].update(
    {
        "login.error.risk_blocked": "Diese Anmeldung wurde zu Ihrem Schutz blockiert. "
        "Wenn Sie es waren, versuchen Sie es später erneut oder wenden Sie sich an den Support.",
        "login.error.risk_second_factor": "Diese Anmeldung wirkt ungewöhnlich und erfordert einen zweiten Faktor, "
        "für dieses Konto ist aber keiner eingerichtet. Bitte wenden Sie sich an den Support.",
    }
)
MESSAGES["fr"].update(
    {
        "login.error.risk_blocked": "Cette connexion a été bloquée pour votre protection. "
        "Si c'était vous, réessayez plus tard ou contactez le support.",
        "login.error.risk_second_factor": "Cette connexion semble inhabituelle et demande un second facteur, "
        "mais aucun n'est configuré pour ce compte. Veuillez contacter le support.",
    }
)


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


# The account portal's pages.
MESSAGES["en"].update(ACCOUNT_EN)
MESSAGES["de"].update(ACCOUNT_DE)
MESSAGES["fr"].update(ACCOUNT_FR)


def _merge_mfa_messages() -> None:
    from chalicelib.web.pages.i18n_mfa import MFA_MESSAGES

    for locale, entries in MFA_MESSAGES.items():
        MESSAGES[locale].update(entries)


_merge_mfa_messages()


# Federation pages (issue 6) keep their entries in their own module; merged here so every page sees them.
from chalicelib.web.pages.i18n_federation import FEDERATION_MESSAGES  # noqa: E402

for _locale, _entries in FEDERATION_MESSAGES.items():
    MESSAGES[_locale].update(_entries)


# Passkeys in the hosted pages (login, second factor, enrollment, account portal).
from chalicelib.web.pages.i18n_passkeys import PASSKEY_MESSAGES  # noqa: E402

for _locale, _entries in PASSKEY_MESSAGES.items():
    MESSAGES[_locale].update(_entries)


# The hosted login's "Choose a new password" step (a password the policy now refuses).
from chalicelib.web.pages.i18n_new_password import NEW_PASSWORD_MESSAGES  # noqa: E402

for _locale, _entries in NEW_PASSWORD_MESSAGES.items():
    MESSAGES[_locale].update(_entries)


# The admin dashboard page (hosted, token form + charts).
from chalicelib.web.pages.i18n_dashboard import DASHBOARD_MESSAGES  # noqa: E402

for _locale, _entries in DASHBOARD_MESSAGES.items():
    MESSAGES[_locale].update(_entries)
