"""Admin API (``/t/{tenant}/admin/...``): tier management for the tenant's own admins."""
