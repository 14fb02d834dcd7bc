"""Error pages are the app's own, plain and readable (no Django default "Bad Request")."""

from __future__ import annotations

import pytest
from django.test import override_settings

pytestmark = pytest.mark.django_db


@override_settings(DATA_UPLOAD_MAX_NUMBER_FIELDS=10)
def test_too_many_fields_get_a_page_that_says_what_to_do(admin_client_p, project):
    data = {f"f{i}": "x" for i in range(50)}
    response = admin_client_p.post(f"/p/{project.slug}/scorers/new/", data)
    assert response.status_code == 400
    assert b"too many fields" in response.content


def test_not_found_page_does_not_reveal_other_projects(client, outsider, project):
    client.force_login(outsider)
    response = client.get(f"/p/{project.slug}/traces/")
    assert response.status_code == 404
    assert b"not a member of" in response.content


def test_forbidden_page_names_the_role(client, viewer, project):
    client.force_login(viewer)
    response = client.post(f"/p/{project.slug}/scorers/new/", {"name": "x"})
    assert response.status_code == 403
    assert b"admin role" in response.content
