"""Server-rendered hosted pages: Jinja2 templates, rendering (``render``) and localisation (``i18n``).

Rendering imports Jinja2 lazily on the first page, so importing this package costs nothing at cold start.
"""
