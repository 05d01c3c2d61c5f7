"""Hosted second-factor pages (``/t/{tenant}/mfa/...``): the sign-in challenge, enrollment, factor management."""
