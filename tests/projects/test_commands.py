from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from projects.models import IngestionKey, Membership, Project
from tests.projects.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_create_project_makes_the_named_user_admin():
    user = UserFactory(username="alice")
    call_command("create_project", "support", name="Support bot", admin="alice", stdout=StringIO())
    project = Project.objects.get(slug="support")
    assert project.name == "Support bot"
    assert Membership.objects.get(project=project, user=user).role == "admin"


def test_create_project_refuses_unknown_admin_and_writes_nothing():
    with pytest.raises(CommandError, match="no user named"):
        call_command("create_project", "support", name="Support", admin="ghost", stdout=StringIO())
    assert not Project.objects.filter(slug="support").exists()


def test_create_ingestion_key_prints_the_key_alone_on_its_last_line(project):
    out = StringIO()
    call_command("create_ingestion_key", project.slug, stdout=out, stderr=StringIO())
    raw = out.getvalue().strip().splitlines()[-1]
    assert raw.startswith("trk_") and " " not in raw
    key = IngestionKey.authenticate(raw)
    assert key is not None and key.project == project
    assert raw not in {k.key_hash for k in IngestionKey.objects.all()}
    assert key.last_used_at is not None


def test_revoked_key_no_longer_authenticates(project):
    key, raw = IngestionKey.issue(project=project)
    key.revoke()
    assert IngestionKey.authenticate(raw) is None
