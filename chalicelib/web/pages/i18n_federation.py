"""Catalog entries of the federation pages (merged into ``i18n.MESSAGES`` at the end of ``i18n``)."""

from __future__ import annotations

FEDERATION_MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "login.sso_button": "Continue with single sign-on",
        "login.sso_hint": "Work account? Enter your email and continue with single sign-on.",
        "login.error.no_sso": "There is no single sign-on for this email address. Enter your password.",
        "federation.wait.title": "Signing you in",
        "federation.wait.text": "We are setting up your account. This takes a few seconds.",
        "federation.wait.continue": "Continue",
        "federation.link.title": "Link your account",
        "federation.link.text": "An account with the address {email} already exists. Enter its password to "
        "link it to your {provider} sign-in.",
        "federation.link.submit": "Link and continue",
        "federation.failed.title": "Sign-in could not be completed",
        "federation.failed.retry": "Try again",
        "federation.failed.no_email": "The identity provider did not send an email address for your account.",
        "federation.failed.account_exists": "An account with this email address already exists and cannot be "
        "linked to this identity provider. Sign in with your password instead.",
        "federation.failed.account_disabled": "The account with this email address is disabled.",
        "federation.failed.integration_unavailable": "This identity provider is no longer available.",
        "federation.failed.upstream_denied": "The identity provider did not sign you in.",
        "federation.failed.workflow_failed": "Setting up your account failed. Please try again.",
        "federation.failed.expired": "This sign-in took too long and has expired.",
        "federation.failed.risk_blocked": "This sign-in was blocked for your protection. Please try again later "
        "or contact support.",
        "federation.failed.risk_second_factor": "This sign-in needs a second factor. Please sign in again from the "
        "application, with a second factor set up for your account.",
        "federation.signed_in.title": "You are signed in",
        "federation.signed_in.text": "You can now return to your application.",
    },
    "de": {
        "login.sso_button": "Weiter mit Single Sign-On",
        "login.sso_hint": "Firmenkonto? E-Mail-Adresse eingeben und mit Single Sign-On fortfahren.",
        "login.error.no_sso": "Für diese E-Mail-Adresse gibt es kein Single Sign-On. Geben Sie Ihr Passwort ein.",
        "federation.wait.title": "Anmeldung läuft",
        "federation.wait.text": "Wir richten Ihr Konto ein. Das dauert einige Sekunden.",
        "federation.wait.continue": "Weiter",
        "federation.link.title": "Konto verknüpfen",
        "federation.link.text": "Es gibt bereits ein Konto mit der Adresse {email}. Geben Sie dessen Passwort "
        "ein, um es mit Ihrer Anmeldung über {provider} zu verknüpfen.",
        "federation.link.submit": "Verknüpfen und fortfahren",
        "federation.failed.title": "Die Anmeldung konnte nicht abgeschlossen werden",
        "federation.failed.retry": "Erneut versuchen",
        "federation.failed.no_email": "Der Identitätsanbieter hat keine E-Mail-Adresse übermittelt.",
        "federation.failed.account_exists": "Es gibt bereits ein Konto mit dieser E-Mail-Adresse, das nicht mit "
        "diesem Identitätsanbieter verknüpft werden kann. Melden Sie sich mit Ihrem Passwort an.",
        "federation.failed.account_disabled": "Das Konto mit dieser E-Mail-Adresse ist deaktiviert.",
        "federation.failed.integration_unavailable": "Dieser Identitätsanbieter ist nicht mehr verfügbar.",
        "federation.failed.upstream_denied": "Der Identitätsanbieter hat Sie nicht angemeldet.",
        "federation.failed.workflow_failed": "Die Einrichtung Ihres Kontos ist fehlgeschlagen. Bitte erneut versuchen.",
        "federation.failed.expired": "Diese Anmeldung hat zu lange gedauert und ist abgelaufen.",
        "federation.failed.risk_blocked": "Diese Anmeldung wurde zu Ihrem Schutz blockiert. Bitte versuchen Sie es "
        "später erneut oder wenden Sie sich an den Support.",
        "federation.failed.risk_second_factor": "Diese Anmeldung erfordert einen zweiten Faktor. Bitte melden Sie "
        "sich erneut über die Anwendung an, mit einem für Ihr Konto eingerichteten zweiten Faktor.",
        "federation.signed_in.title": "Sie sind angemeldet",
        "federation.signed_in.text": "Sie können jetzt zu Ihrer Anwendung zurückkehren.",
    },
    "fr": {
        "login.sso_button": "Continuer avec l\u2019authentification unique",
        "login.sso_hint": "Compte professionnel\u00a0? Saisissez votre e-mail et continuez avec "
        "l\u2019authentification unique.",
        "login.error.no_sso": "Aucune authentification unique pour cette adresse. Saisissez votre mot de passe.",
        "federation.wait.title": "Connexion en cours",
        "federation.wait.text": "Nous préparons votre compte. Cela prend quelques secondes.",
        "federation.wait.continue": "Continuer",
        "federation.link.title": "Associer votre compte",
        "federation.link.text": "Un compte avec l\u2019adresse {email} existe déjà. Saisissez son mot de passe pour "
        "l\u2019associer à votre connexion {provider}.",
        "federation.link.submit": "Associer et continuer",
        "federation.failed.title": "La connexion n\u2019a pas pu aboutir",
        "federation.failed.retry": "Réessayer",
        "federation.failed.no_email": "Le fournisseur d\u2019identité n\u2019a pas transmis d\u2019adresse e-mail.",
        "federation.failed.account_exists": "Un compte avec cette adresse existe déjà et ne peut pas être associé "
        "à ce fournisseur d\u2019identité. Connectez-vous avec votre mot de passe.",
        "federation.failed.account_disabled": "Le compte associé à cette adresse est désactivé.",
        "federation.failed.integration_unavailable": "Ce fournisseur d\u2019identité n\u2019est plus disponible.",
        "federation.failed.upstream_denied": "Le fournisseur d\u2019identité ne vous a pas connecté.",
        "federation.failed.workflow_failed": "La préparation de votre compte a échoué. Veuillez réessayer.",
        "federation.failed.expired": "Cette connexion a pris trop de temps et a expiré.",
        "federation.failed.risk_blocked": "Cette connexion a été bloquée pour votre protection. Réessayez plus "
        "tard ou contactez le support.",
        "federation.failed.risk_second_factor": "Cette connexion exige un second facteur. Reconnectez-vous depuis "
        "l\u2019application, avec un second facteur configuré pour votre compte.",
        "federation.signed_in.title": "Vous êtes connecté",
        "federation.signed_in.text": "Vous pouvez revenir à votre application.",
    },
}
