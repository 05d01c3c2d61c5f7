"""The native authentication API for first-party mobile apps (JSON flows ending in an authorization code)."""
