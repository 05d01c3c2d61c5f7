"""Self-service account pages and the native authentication API: registration, email verification, invitations,
password reset and email change.

Hosted pages (``register``, ``verify``, ``password``, ``email``) render the ``web/pages`` templates through
``web.oidc.pages`` and continue an interrupted authorization request with ``web.oidc.authorize``; the JSON API
(``api``, under ``/t/{tenant}/authn/``) answers typed JSON errors. Both call the services through ``container``.
"""
