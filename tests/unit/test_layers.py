"""The layering rules of docs/architecture.md, read from the source: who may import whom, where SQL may be."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = ROOT / "edge_server" / "domain"
IMPURE_IMPORTS = ("flask", "sqlite3", "sqlite_utils", "requests", "edge_server.store.db", "edge_server.web.app")
SQL = re.compile(r"\b(SELECT\s+\S|INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM)\b")


def imports(path: Path) -> set[str]:
    """Every module a file imports, at any depth of the file (lazy imports included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def strings(path: Path) -> list[str]:
    return [node.value for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.Constant) and isinstance(node.value, str)]


@pytest.mark.parametrize("package", ["sync", "models", "provisioning"])
def test_the_shared_packages_import_nothing_from_the_box(package):
    offenders = {str(p.relative_to(ROOT)): sorted(m for m in imports(p) if m.split(".")[0] == "edge_server")
                 for p in (ROOT / package).rglob("*.py")}
    assert not {k: v for k, v in offenders.items() if v}


@pytest.mark.parametrize("module", sorted(p.stem for p in DOMAIN.glob("*.py")))
def test_a_domain_module_imports_no_web_database_or_network(module):
    used = imports(DOMAIN / f"{module}.py")
    assert not [m for m in used if m.startswith(IMPURE_IMPORTS)]


@pytest.mark.parametrize("module", sorted(p.stem for p in DOMAIN.glob("*.py")))
def test_a_domain_module_imports_only_other_domain_modules_from_the_box(module):
    used = {m for m in imports(DOMAIN / f"{module}.py") if m.startswith("edge_server")}
    assert not [m for m in used if not m.startswith("edge_server.domain")]


def test_the_web_layer_is_imported_only_by_the_web_layer_and_the_serve_command():
    allowed = (ROOT / "edge_server" / "web", ROOT / "edge_server" / "cli")
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "edge_server").rglob("*.py")
                 if not p.is_relative_to(allowed[0]) and not p.is_relative_to(allowed[1])
                 and any(m.startswith("edge_server.web") for m in imports(p))]
    assert offenders == []


def test_views_hold_no_sql():
    offenders = {p.name: [s[:60] for s in strings(p) if SQL.search(s)]
                 for p in (ROOT / "edge_server" / "web" / "views").glob("*.py")}
    assert not {k: v for k, v in offenders.items() if v}


# table -> the module of edge_server/store/ that alone writes it (migrations.py, the schema's owner, aside)
STORE_OWNERS = {
    "channels": "channels", "outbox": "outbox", "jobs": "jobs",
    "teachers": "people", "classes": "people", "pupils": "people", "assignments": "people",
    "pin_lockouts": "people", "login_alerts": "people",
    "attempts": "attempts", "mastery": "attempts", "kp_params": "attempts", "chapter_views": "attempts",
    "meta": "meta",
}


@pytest.mark.parametrize(("table", "owner"), sorted(STORE_OWNERS.items()))
def test_a_table_in_the_store_is_written_only_there(table, owner):
    writes = re.compile(rf"\b(INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM)\s+\"?{table}\b", re.IGNORECASE)
    allowed = {ROOT / "edge_server" / "store" / f"{owner}.py", ROOT / "edge_server" / "store" / "migrations.py"}
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "edge_server").rglob("*.py")
                 if p not in allowed and any(writes.search(s) for s in strings(p))]
    assert offenders == []


def test_no_module_registers_itself_at_import_time():
    for name in ("scheduler.py", "web/openapi.py"):
        source = (ROOT / "edge_server" / name).read_text(encoding="utf-8")
        assert "register_job(" not in source and "add_path(" not in source
