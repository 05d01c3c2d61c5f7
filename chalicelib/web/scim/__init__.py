"""SCIM 2.0 server (RFC 7643/7644) at ``/t/{tenant}/scim/v2``."""
