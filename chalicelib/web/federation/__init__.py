"""Federated sign-in adapters: the seam (``flow``), the pages around it (``pages``) and the protocols that plug
into it (``oidc_rp`` for upstream OpenID Connect; the SAML SP adds ``saml_sp``). See ``flow`` for the contract."""
