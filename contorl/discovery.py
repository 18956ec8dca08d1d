"""How the kernel reaches the apps without naming them: a conventional module per app.

Like Django's admin autodiscovery, `app_modules("routing")` imports `<app>.routing` of every
installed app that has one, in INSTALLED_APPS order. The kernel uses it for the WebSocket
routes (`routing.websocket_urlpatterns`, contorl/asgi.py) and the demo data
(`seed.seed(users, stdout)`, seed_demo), so contorl/ imports no domain app.
"""

from collections.abc import Iterator
from importlib import import_module
from pathlib import Path
from types import ModuleType

from django.apps import apps
from django.utils.module_loading import module_has_submodule


def app_modules(name: str) -> Iterator[ModuleType]:
    for config in apps.get_app_configs():
        # The project's own apps only: a third-party package may have a module of that name
        # (channels.routing) that is no part of this convention.
        if {"site-packages", "dist-packages"} & set(Path(config.path).parts):
            continue
        if module_has_submodule(config.module, name):
            yield import_module(f"{config.name}.{name}")


def websocket_urlpatterns() -> list:
    return [pattern for module in app_modules("routing") for pattern in getattr(module, "websocket_urlpatterns", [])]
