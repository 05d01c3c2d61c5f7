"""HTTP adapters: Chalice-facing request parsing, protocol endpoints and hosted pages."""
