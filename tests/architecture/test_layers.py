"""Layering: the kernel (contorl/) imports no domain app; apps plug in through its
registration points (contorl/discovery.py, contorl/auditing.py, signals). ARCHITECTURE.md
has the picture."""

import ast
from pathlib import Path

from django.apps import apps
from django.conf import settings

KERNEL = Path(settings.BASE_DIR) / "contorl"


def _domain_apps() -> set[str]:
    """Top-level packages of the project's own apps outside the kernel (audit, tasks, ...)."""
    base = Path(settings.BASE_DIR).resolve()
    names = set()
    for config in apps.get_app_configs():
        top = config.name.split(".")[0]
        # A package at the repository root (not one installed into the virtualenv).
        if top != "contorl" and (base / top / "__init__.py").is_file():
            names.add(top)
    return names


def _imports(path: Path):
    """(line, module) of every absolute import in the file, at any depth (function-level too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module


def test_domain_apps_are_found():
    # Guards the guard: if this set were empty the test below would pass vacuously.
    assert {"audit", "notifications", "tasks", "rooms", "automation", "planning"} <= _domain_apps()


def test_kernel_imports_no_domain_app():
    domain = _domain_apps()
    offenders = [
        f"{path.relative_to(settings.BASE_DIR)}:{line} imports {module}"
        for path in sorted(KERNEL.rglob("*.py"))
        for line, module in _imports(path)
        if module.split(".")[0] in domain
    ]
    assert not offenders, "contorl/ must not import domain apps:\n" + "\n".join(offenders)


def test_the_check_sees_function_level_imports(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from tasks.models import Task\n    import rooms.services\n")
    assert [m for _line, m in _imports(sample)] == ["tasks.models", "rooms.services"]
