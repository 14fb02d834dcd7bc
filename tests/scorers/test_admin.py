"""Django admin: scorers' metadata is editable, versions are read-only and never deleted."""

from __future__ import annotations

import pytest
from django.urls import reverse

from scorers.models import ScorerVersion
from tests.projects.factories import UserFactory
from tests.scorers.factories import make_scorer

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser_client(client):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


def test_scorer_pages_list_and_show_versions(superuser_client, project):
    scorer = make_scorer(project, name="Outcome")
    assert b"Outcome" in superuser_client.get(reverse("admin:scorers_scorer_changelist")).content
    page = superuser_client.get(reverse("admin:scorers_scorer_change", args=[scorer.pk]))
    assert page.status_code == 200 and b"Wrong answer" in page.content


def test_versions_are_read_only_and_cannot_be_deleted(superuser_client, project):
    version = make_scorer(project).current_version
    change = reverse("admin:scorers_scorerversion_change", args=[version.pk])
    page = superuser_client.get(change)
    assert page.status_code == 200 and b'name="_save"' not in page.content
    assert superuser_client.post(change, {"number": 9, "config": "{}"}).status_code == 403
    delete = reverse("admin:scorers_scorerversion_delete", args=[version.pk])
    assert superuser_client.post(delete, {"post": "yes"}).status_code == 403
    assert superuser_client.get(reverse("admin:scorers_scorerversion_add")).status_code == 403
    version.refresh_from_db()
    assert version.number == 1 and ScorerVersion.objects.filter(pk=version.pk).exists()


def test_scorers_are_archived_not_deleted_in_admin(superuser_client, project):
    scorer = make_scorer(project)
    delete = reverse("admin:scorers_scorer_delete", args=[scorer.pk])
    assert superuser_client.post(delete, {"post": "yes"}).status_code == 403
    assert scorer.versions.count() == 1
