"""The import layering: the core builds on nothing above it, plugins use only the public names of the core.

Reads the source with `ast` (imports inside functions count); it never imports the modules it checks.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _package_of(path: Path) -> str:
    """The package a relative import in `path` starts from."""
    module = _module_name(path)
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


MODULE_PATH = re.compile(r"^[A-Za-z_]\w*(\.\w+)+$")


def imported_names(path: Path) -> list[str]:
    """Every dotted name `path` imports: `a.b` for `import a.b`, `a.b.c` for `from a.b import c` (relative
    imports resolved), and every dotted string literal (`import_module("a.b")`, a list of module names),
    anywhere in the file."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and MODULE_PATH.match(node.value):
            names.append(node.value)
        elif isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = _package_of(path).split(".")
                anchor = anchor[:len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            names += [f"{base}.{alias.name}" for alias in node.names]
    return names


def modules_under(folder: str) -> list[Path]:
    """The Python files of a top-level package."""
    return sorted((ROOT / folder).rglob("*.py"))


def _private_part(dotted: str) -> str | None:
    return next((part for part in dotted.split(".") if part.startswith("_") and not part.startswith("__")), None)


def layering_violations() -> list[str]:
    """Every import that breaks the layering, as `module: imported name (why)`."""
    found = []
    for path in modules_under("core"):
        for name in imported_names(path):
            if name.split(".")[0] in ("tenants", "plugins"):
                found.append(f"{_module_name(path)}: {name} (the core never imports tenants or plugins)")
    for path in modules_under("plugins"):
        module = _module_name(path)
        own = ".".join(module.split(".")[:2])  # plugins.<name>
        for name in imported_names(path):
            top = name.split(".")[0]
            if top == "core" and _private_part(name):
                found.append(f"{module}: {name} (a plugin uses the core's public names only)")
            elif top == "plugins" and _private_part(name) and not name.startswith(own + "."):
                found.append(f"{module}: {name} (a plugin never imports another plugin's private code)")
    return found


# Known breaches another part of issue 12 is removing: delete an entry once its module is gone (this test
# then fails to say so), never add one.
PENDING: dict[str, str] = {}


def test_the_layering_holds():
    found = layering_violations()
    pending = [v for v in found if any(f": {module}." in v for module in PENDING)]
    assert [v for v in found if v not in pending] == []
    for module in PENDING:
        assert (ROOT / (module.replace(".", "/") + ".py")).exists(), f"{module} is gone: remove it from PENDING"


@pytest.mark.parametrize(("folder", "relative", "source"), [
    ("core", "services/x.py", "from tenants.service import get_tenant\n"),
    ("core", "api/x.py", "def f():\n    import plugins.storefront\n"),
    ("core", "x.py", "from plugins import media\n"),
    ("core", "api/x.py", "MODULES = ['core.api.health', 'tenants.api']\n"),
    ("plugins", "shop/x.py", "from core.api.purchase import PurchaseSchema, _request\n"),
    ("plugins", "shop/x.py", "import core._secret\n"),
    ("plugins", "shop/x.py", "def f():\n    from core.services._kit import helper\n"),
    ("plugins", "shop/x.py", "from plugins.other._inner import thing\n"),
    ("plugins", "shop/x.py", "from plugins._shared import thing\n"),
])
def test_each_kind_of_bad_import_is_caught(tmp_path, monkeypatch, folder, relative, source):
    module = tmp_path / folder / relative
    module.parent.mkdir(parents=True)
    module.write_text(source)
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    assert len(layering_violations()) == 1


@pytest.mark.parametrize("source", [
    "from plugins.shop._prices import total\n",  # a plugin's own private module
    "from . import _prices\n",
    "from core.api.purchase import PurchaseSchema\n",
    "from core.services.booking import purchase_request\n",
])
def test_public_and_own_private_imports_pass(tmp_path, monkeypatch, source):
    module = tmp_path / "plugins" / "shop" / "x.py"
    module.parent.mkdir(parents=True)
    module.write_text(source)
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    assert layering_violations() == []
