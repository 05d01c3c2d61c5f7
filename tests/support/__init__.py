"""Test support: the local stack harness (``stack.py``) shared by conftest and the contract/e2e suites."""
