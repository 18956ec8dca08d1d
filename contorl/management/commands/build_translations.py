"""Compile every .po file in the project to .mo with Babel (pure Python, so a fresh
machine without GNU gettext still shows both languages)."""

import os
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from django.conf import settings
from django.core.management.base import BaseCommand

SKIP = {".venv", "node_modules", "var", ".git"}


class Command(BaseCommand):
    help = "Compile .po catalogs to .mo without GNU gettext."

    def handle(self, *args, **options):
        count = 0
        for po_path in Path(settings.BASE_DIR).rglob("*.po"):
            if SKIP.intersection(po_path.relative_to(settings.BASE_DIR).parts):
                continue
            mo_path = po_path.with_suffix(".mo")
            if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
                continue
            with po_path.open("rb") as po_file:
                catalog = read_po(po_file)
            # Written aside and renamed: a test session compiling at the same time (conftest.py)
            # or a running server never reads half a catalog.
            partial = mo_path.with_suffix(f".mo.{os.getpid()}")
            with partial.open("wb") as mo_file:
                write_mo(mo_file, catalog)
            os.replace(partial, mo_path)
            count += 1
        if options["verbosity"]:
            self.stdout.write(f"compiled {count} catalog(s)")
