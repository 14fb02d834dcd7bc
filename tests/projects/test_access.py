from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.test import RequestFactory

from projects.access import default_project_for, get_project_access
from projects.models import Membership, Role
from tests.projects.factories import ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db


def _request(user):
    from django.contrib.sessions.backends.db import SessionStore

    request = RequestFactory().get("/")
    request.user = user
    request.session = SessionStore()
    return request


def test_member_gets_the_project_with_their_role(project, reviewer):
    access = get_project_access(_request(reviewer), project.slug)
    assert access.project == project
    assert access.can_review and not access.is_admin


def test_non_member_gets_404_not_403(project, outsider):
    with pytest.raises(Http404):
        get_project_access(_request(outsider), project.slug, Role.ADMIN)


def test_unknown_project_is_404(reviewer):
    with pytest.raises(Http404):
        get_project_access(_request(reviewer), "no-such-project")


@pytest.mark.parametrize(
    ("role", "needed", "allowed"),
    [
        ("viewer", "viewer", True),
        ("viewer", "reviewer", False),
        ("reviewer", "reviewer", True),
        ("reviewer", "admin", False),
        ("admin", "admin", True),
    ],
)
def test_role_violations_are_403(project, role, needed, allowed):
    user = Membership.objects.create(project=project, user=UserFactory(), role=role).user
    if allowed:
        assert get_project_access(_request(user), project.slug, needed).project == project
    else:
        with pytest.raises(PermissionDenied):
            get_project_access(_request(user), project.slug, needed)


def test_superuser_reaches_every_project_as_admin(project):
    root = UserFactory(is_superuser=True, is_staff=True)
    assert get_project_access(_request(root), project.slug, Role.ADMIN).is_admin


def test_home_leads_to_the_project_opened_last(client, reviewer, project):
    other = ProjectFactory(name="AAA first alphabetically")
    Membership.objects.create(project=other, user=reviewer, role="viewer")
    client.force_login(reviewer)
    client.get(f"/p/{project.slug}/traces/")
    response = client.get("/")
    assert response.status_code == 302 and response.url == f"/p/{project.slug}/traces/"
    # A new session still goes back to the last visited project, not the first by name.
    client.logout()
    client.force_login(reviewer)
    assert client.get("/").url == f"/p/{project.slug}/traces/"
    assert default_project_for(_request(reviewer)) == project


def test_home_without_projects_explains_what_to_do(client, user):
    client.force_login(user)
    response = client.get("/")
    assert response.status_code == 200
    assert b"create_project" in response.content


def test_anonymous_is_sent_to_login(client, project):
    response = client.get(f"/p/{project.slug}/traces/")
    assert response.status_code == 302 and response.url.startswith("/login/")
