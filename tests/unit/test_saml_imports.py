"""pysaml2 stays out of cold starts: imported only inside functions of chalicelib.web.saml."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("saml2", "defusedxml", "xmlschema")


def _top_level_imports(tree: ast.Module) -> list[str]:
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


def _all_imports(tree: ast.Module) -> list[str]:
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


def test_importing_app_does_not_import_pysaml2() -> None:
    code = f"import sys, app; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def test_saml2_is_imported_only_lazily_and_only_by_the_saml_adapter() -> None:
    saml_package = ROOT / "chalicelib" / "web" / "saml"
    for path in (ROOT / "chalicelib").rglob("*.py"):
        tree = ast.parse(path.read_text())
        assert not any(n.startswith(HEAVY) for n in _top_level_imports(tree)), path
        if saml_package not in path.parents:
            assert not any(n.startswith("saml2") for n in _all_imports(tree)), path
