"""The settings' secret key rules (SPEC §7): zero set-up on SQLite, required in production."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _check(env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DATABASE_URL", "DEBUG"}}
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', "
            "'tracereview.settings'); django.setup(); from django.conf import settings; print(len(settings.SECRET_KEY))",
        ],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_database_without_secret_key_refuses_to_start():
    result = _check({"DATABASE_URL": "postgres://u@127.0.0.1:1/none"})
    assert result.returncode != 0
    assert "SECRET_KEY is required" in result.stderr


def test_sqlite_install_needs_no_secret_key_and_keeps_one(tmp_path):
    first = _check({})
    second = _check({})
    assert first.returncode == 0 and second.returncode == 0, first.stderr
    assert int(first.stdout) >= 50
    assert (ROOT / ".secret_key").read_text().strip()
