"""Shared fixtures. Tests marked `postgres` or `browser` skip with a reason outside CI and fail
in CI (CI=true), where a skipped test would count as a missing one."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from django.db import connection

from tests.projects.factories import MembershipFactory, ProjectFactory, UserFactory

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
FIXTURES_DIR = Path(
    os.environ.get("TRACEREVIEW_FIXTURES", Path(__file__).resolve().parent.parent.parent / "shared" / "fixtures")
)
CHROMIUM = os.environ.get("PLAYWRIGHT_CHROMIUM_EXECUTABLE") or shutil.which("chromium") or "/usr/bin/chromium"

# Browser tests drive a live server from a thread; Playwright's sync API runs an event loop.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def skip_or_fail(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: this test must run, not skip)")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _mandatory_environment(request):
    if request.node.get_closest_marker("postgres") and connection.vendor != "postgresql":
        skip_or_fail("needs PostgreSQL: set DATABASE_URL=postgres://...")
    if request.node.get_closest_marker("browser") and not Path(CHROMIUM).exists():
        skip_or_fail(f"needs Chromium at {CHROMIUM} (apt-get install chromium)")


@pytest.fixture
def fixtures_dir() -> Path:
    if not FIXTURES_DIR.is_dir():
        skip_or_fail(f"shared fixtures not found at {FIXTURES_DIR}")
    return FIXTURES_DIR


@pytest.fixture
def project(db):
    return ProjectFactory()


@pytest.fixture
def other_project(db):
    return ProjectFactory()


def _member(project, role):
    return MembershipFactory(project=project, role=role).user


@pytest.fixture
def admin_user(project):
    return _member(project, "admin")


@pytest.fixture
def reviewer(project):
    return _member(project, "reviewer")


@pytest.fixture
def viewer(project):
    return _member(project, "viewer")


@pytest.fixture
def outsider(other_project):
    """A member of another project: must get 404 on this project's pages."""
    return _member(other_project, "admin")


@pytest.fixture
def reviewer_client(client, reviewer):
    client.force_login(reviewer)
    return client


@pytest.fixture
def admin_client_p(client, admin_user):
    """A client logged in as an admin member of `project` (not a superuser)."""
    client.force_login(admin_user)
    return client


@pytest.fixture
def user(db):
    return UserFactory()
