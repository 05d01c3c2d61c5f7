"""Architecture rules that import-linter cannot express (app.py is a module, not a package)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ALLOWED_APP_IMPORTS = ("chalice", "chalicelib.web", "chalicelib.workflows", "chalicelib.container")


def _imports(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.extend(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


def test_app_imports_only_web_workflows_and_container() -> None:
    imports = _imports(ROOT / "app.py")
    assert imports
    assert all(name.startswith(ALLOWED_APP_IMPORTS) for name in imports), imports


def test_app_debug_is_off() -> None:
    assert "app.debug = False" in (ROOT / "app.py").read_text()


def test_only_config_reads_the_environment() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "chalicelib").rglob("*.py")
        if path.name != "config.py" and ("os.environ" in path.read_text() or "getenv(" in path.read_text())
    ]
    assert offenders == []


def test_importing_app_loads_no_heavy_module() -> None:
    code = (
        "import sys; import app; heavy = [m for m in ('pynamodb', 'jose', 'jinja2', 'saml2', 'argon2', "
        "'cryptography', 'boto3') if m in sys.modules]; print(','.join(heavy))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def test_app_imports_route_handlers_inside_the_routes() -> None:
    """Cold start: app.py's module level imports only what its decorators need; every route and task imports its
    handler module inside the function, so a cold Lambda loads only the route it serves."""
    tree = ast.parse((ROOT / "app.py").read_text())
    module_level = [n.module for n in tree.body if isinstance(n, ast.ImportFrom)]
    module_level += [a.name for n in tree.body if isinstance(n, ast.Import) for a in n.names]
    assert sorted(module_level) == [
        "chalice.app",
        "chalicelib.web.chalice_adapter",
        "chalicelib.workflows.event_sources",
    ], module_level
    handlers = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    assert len(handlers) > 80
    for handler in handlers:
        assert any(isinstance(node, ast.ImportFrom) for node in handler.body), handler.name


def test_importing_app_loads_no_handler_service_or_storage_module() -> None:
    code = (
        "import sys; import app; print(','.join(sorted(m for m in sys.modules if m.startswith('chalicelib.') and m "
        "not in ('chalicelib.config', 'chalicelib.web', 'chalicelib.web.http', 'chalicelib.web.chalice_adapter', "
        "'chalicelib.workflows', 'chalicelib.workflows.event_sources'))))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
