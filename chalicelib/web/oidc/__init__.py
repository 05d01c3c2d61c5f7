"""OpenID Connect / OAuth 2.0 provider endpoints, each a list of small named checks (node-oidc-provider style)."""
