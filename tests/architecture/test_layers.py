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


# Reading the process environment outside settings.py is allowed only here, each for a reason
# the module states: bootstrapping DJANGO_SETTINGS_MODULE, and prometheus_client's own variable.
ENVIRON_ALLOWED = {"contorl/asgi.py", "contorl/celery.py", "contorl/metrics.py"}


def _settings_reads(path: Path):
    """(line, what) of each os.environ / os.getenv use and each getattr(settings, name, default)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv"):
            if isinstance(node.value, ast.Name) and node.value.id == "os":
                yield node.lineno, f"os.{node.attr}"
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr":
            target = node.args[0] if node.args else None
            if isinstance(target, ast.Name) and target.id == "settings" and len(node.args) == 3:
                yield node.lineno, "getattr(settings, ..., default)"


def test_every_setting_is_declared_in_settings_py():
    base = Path(settings.BASE_DIR)
    offenders = []
    for package in sorted(_domain_apps() | {"contorl"}):
        for path in sorted((base / package).rglob("*.py")):
            relative = path.relative_to(base).as_posix()
            if relative == "contorl/settings.py" or "/migrations/" in relative or relative in ENVIRON_ALLOWED:
                continue
            offenders += [f"{relative}:{line} {what}" for line, what in _settings_reads(path)]
    assert not offenders, "declare the setting in contorl/settings.py and read settings.X:\n" + "\n".join(offenders)
