"""What a new developer meets: `make run` installs the runtime only and says where and in which
mode it serves, the tools live in requirements-dev.txt, `pytest` straight after a clone compiles
the translations, and the README's quick start, dependency table, links and pictures hold."""

import ast
import io
import logging
import os
import re
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from django.core.management import call_command

from contorl.management.commands.run_banner import banner

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
RUNTIME_CODE = [
    "contorl",
    "tasks",
    "rooms",
    "notifications",
    "audit",
    "automation",
    "planning",
    "contorl_client",
    "deploy",
]
LOCAL = {*RUNTIME_CODE, "manage", "launcher", "tests", "bench"}


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements(path: str) -> set[str]:
    names = set()
    for line in (ROOT / path).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            names.add(normalize(re.split(r"[\[=<>!~ ;]", line, maxsplit=1)[0]))
    return names


def closure(names: set[str]) -> set[str]:
    """The distributions installing `names` brings in (their requirements, extras left out)."""
    seen, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for requirement in requires:
            if "extra ==" not in requirement:
                todo.append(normalize(re.split(r"[\[=<>!~ ;(]", requirement, maxsplit=1)[0]))
    return seen


def top_level_imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def make_dry_run(*targets: str, **variables: str) -> str:
    """The commands `make` would run for targets, as if nothing were built yet (-n -B)."""
    args = ["make", "-n", "-B", "--no-print-directory", *targets, *(f"{k}={v}" for k, v in variables.items())]
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=True, timeout=60).stdout  # noqa: S603


# --- requirements.txt / requirements-dev.txt -----------------------------------------------------


def test_requirements_dev_builds_on_the_runtime_and_repeats_nothing():
    dev = (ROOT / "requirements-dev.txt").read_text()
    assert "-r requirements.txt" in dev.splitlines()
    runtime, tools = requirements("requirements.txt"), requirements("requirements-dev.txt")
    assert runtime & tools == set()
    for tool in ("pytest", "playwright", "moto", "schemathesis", "ruff", "pip-audit", "py-spy", "hypothesis"):
        assert tool in tools and tool not in runtime


def test_runtime_code_imports_nothing_only_the_dev_tools_install():
    installed = closure(requirements("requirements.txt") | requirements("requirements-ldap.txt"))
    providers = {name: {normalize(d) for d in dists} for name, dists in metadata.packages_distributions().items()}
    files = [ROOT / "manage.py", *(f for package in RUNTIME_CODE for f in (ROOT / package).rglob("*.py"))]
    wrong = {}
    for path in files:
        for name in top_level_imports(path) - LOCAL - set(sys.stdlib_module_names):
            if not providers.get(name, set()) & installed:
                wrong.setdefault(name, []).append(str(path.relative_to(ROOT)))
    assert wrong == {}, f"runtime code imports what requirements.txt does not install: {wrong}"


# --- the Makefile ----------------------------------------------------------------------------------


def test_make_run_installs_the_runtime_only_and_serves_where_asked():
    commands = make_dry_run("run", HOST="0.0.0.0", PORT="8123")  # noqa: S104 (a string, nothing binds)
    assert "-r requirements.txt" in commands
    assert "requirements-dev.txt" not in commands
    assert "-q" in commands.split("-r requirements.txt")[0].splitlines()[-1]  # pip stays quiet
    assert "/usr/include/ldap.h" in commands and "/usr/include/sasl/sasl.h" in commands  # LDAP only with headers
    assert "seed_demo --url http://0.0.0.0:8123" in commands
    assert "run_banner --url http://0.0.0.0:8123" in commands
    assert re.search(r"daphne -b 0\.0\.0\.0 -p 8123 ", commands)


@pytest.mark.parametrize("target", ["test", "test-sqlite", "test-postgres", "lint", "bench", "screenshots"])
def test_the_tool_targets_install_requirements_dev(target):
    # `make -n test` would still run its recursive $(MAKE) lines (and the PostgreSQL probe): read its rule.
    rule = re.search(rf"^{target}:(.*)$", (ROOT / "Makefile").read_text(), flags=re.M).group(1)
    assert "venv-dev" in rule.split()
    if target != "test":
        assert "-r requirements-dev.txt" in make_dry_run(target)


def test_seed_prints_a_few_lines_with_the_address(db, caplog):
    out = io.StringIO()
    with caplog.at_level(logging.INFO):
        call_command("seed_demo", "--url", "http://127.0.0.1:8123", stdout=out, no_color=True)
    assert [r.getMessage() for r in caplog.records if r.levelno < logging.WARNING] == []  # no audit/notify lines
    lines = out.getvalue().strip().splitlines()
    assert lines == [
        "Demo data ready. Sign in at http://127.0.0.1:8123 as",
        "  admin / contorl-admin; alice, bob, carol, dave / contorl-demo",
    ]
    verbose = io.StringIO()
    call_command("seed_demo", stdout=verbose, verbosity=2, no_color=True)
    assert "rooms:" in verbose.getvalue() and "http://127.0.0.1:8000" in verbose.getvalue()


def test_run_banner_names_the_mode_and_the_worker_it_then_needs():
    embedded = banner(
        "http://127.0.0.1:8000",
        database_engine="django.db.backends.sqlite3",
        channel_backend="channels.layers.InMemoryChannelLayer",
        celery_eager=True,
    )
    assert embedded.startswith("CONTORL on http://127.0.0.1:8000 (embedded mode:")
    assert "make worker" not in embedded
    services = banner(
        "http://127.0.0.1:9000",
        database_engine="django.db.backends.postgresql",
        channel_backend="contorl.layers.PubSubLayer",
        celery_eager=False,
    )
    assert "http://127.0.0.1:9000" in services and "PostgreSQL" in services and "Redis" in services
    assert "embedded" not in services and "`make worker`" in services
    out = io.StringIO()
    call_command("run_banner", "--url", "http://127.0.0.1:8123", stdout=out)
    assert out.getvalue().startswith("CONTORL on http://127.0.0.1:8123 (")


# --- pytest straight after a clone ----------------------------------------------------------------------


@pytest.mark.slow
def test_pytest_after_a_clone_compiles_the_translations(tmp_path):
    """A checkout has .po files only (.mo is in .gitignore); running pytest there, without
    make, must still show zh-Hant: the session fixture in conftest.py compiles the catalogs."""
    clone = tmp_path / "clone"
    skip = shutil.ignore_patterns(".git", ".venv", "node_modules", "var", "*.mo", "__pycache__", "screenshots")
    shutil.copytree(ROOT, clone, ignore=skip)
    assert not list(clone.rglob("*.mo"))
    (clone / "tests" / "test_probe.py").write_text(
        "from django.utils import translation\n\n\n"
        "def test_zh_hant():\n"
        "    with translation.override('zh-hant'):\n"
        "        assert translation.gettext('Dashboard') == '儀表板'\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "PYTEST_ADDOPTS")}
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_probe.py"],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=170,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert (clone / "locale" / "zh_Hant" / "LC_MESSAGES" / "django.mo").exists()


# --- the README ----------------------------------------------------------------------------------------------


def test_readme_quick_start_is_make_run_and_make_test():
    quick = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", quick, flags=re.S).group(1)
    assert [line.split("#")[0].strip() for line in block.strip().splitlines()] == ["make run", "make test"]
    assert "requirements.txt" in quick and "requirements-dev.txt" in quick


def test_readme_explains_every_pinned_package():
    table = README.split("## Why each dependency is here", 1)[1]
    rows = " ".join(re.findall(r"^\| ([^|]+) \|", table, flags=re.M)).lower()
    for path in ("requirements.txt", "requirements-dev.txt", "requirements-ldap.txt"):
        for name in requirements(path):
            spelled = {name, name.replace("-", "_"), name.replace("-", " ")}
            assert any(s in rows for s in spelled), (path, name)
    assert "`requirements.txt`" in table and "`requirements-dev.txt`" in table


def test_readme_links_stay_inside_the_repository():
    assert "](docs/CONTRACT.md)" in README
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README):
        if re.match(r"[a-z]+://", target):
            continue
        resolved = (ROOT / target).resolve()
        assert resolved.is_relative_to(ROOT) and resolved.exists(), target


def test_readme_pictures_are_taken_by_the_browser_tests():
    pictures = re.findall(r"\]\(docs/screenshots/([\w-]+)\.png\)", README)
    assert {"board", "conflict-dialog", "room", "heatmap"} <= set(pictures)
    makefile = (ROOT / "Makefile").read_text()
    screenshot_tests = re.search(r"SCREENSHOT_TESTS :=(.*?)\n\S", makefile, flags=re.S).group(1)
    for name in pictures:
        assert (ROOT / "docs" / "screenshots" / f"{name}.png").stat().st_size > 10_000, name
        takers = [
            path
            for path in (ROOT / "tests").rglob("test_*.py")
            if re.search(rf'readme_shot\(\w+, "{name}"\)', path.read_text())
        ]
        assert len(takers) == 1, (name, takers)
        assert str(takers[0].relative_to(ROOT)) in screenshot_tests, name
