"""Login, logout, the home redirect and the project switcher."""

from __future__ import annotations

import pytest

from tests.projects.factories import MembershipFactory, ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_login_page_renders_the_standard_form(client):
    response = client.get("/login/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="username"' in html and 'name="password"' in html
    assert 'class="topbar"' not in html  # nothing project-related before login


def test_login_with_username_and_password_leads_to_the_users_project(client):
    membership = MembershipFactory()
    response = client.post("/login/", {"username": membership.user.username, "password": "pw-for-tests-1"})
    assert response.status_code == 302
    response = client.get(response["Location"])
    assert response.status_code == 302
    assert response["Location"] == f"/p/{membership.project.slug}/traces/"


def test_wrong_password_shows_an_error_and_keeps_the_username(client):
    user = UserFactory()
    response = client.post("/login/", {"username": user.username, "password": "wrong"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'role="alert"' in html and f'value="{user.username}"' in html


def test_login_honours_next(client):
    membership = MembershipFactory()
    target = f"/p/{membership.project.slug}/traces/?q=x"
    response = client.post(
        "/login/", {"username": membership.user.username, "password": "pw-for-tests-1", "next": target}
    )
    assert response["Location"] == target


def test_logout_is_a_post_and_ends_the_session(client, reviewer, project):
    client.force_login(reviewer)
    assert client.get("/logout/").status_code == 405
    response = client.post("/logout/")
    assert response.status_code == 302 and response["Location"] == "/login/"
    assert client.get(f"/p/{project.slug}/traces/").status_code == 302


def test_home_goes_to_the_last_opened_project(client):
    user = UserFactory()
    first, second = ProjectFactory(name="A"), ProjectFactory(name="B")
    MembershipFactory(user=user, project=first)
    MembershipFactory(user=user, project=second)
    client.force_login(user)
    client.get(f"/p/{second.slug}/traces/")
    assert client.get("/")["Location"] == f"/p/{second.slug}/traces/"
    client.get(f"/p/{first.slug}/traces/")
    assert client.get("/")["Location"] == f"/p/{first.slug}/traces/"


def test_home_without_a_project_explains_what_to_do(client):
    user = UserFactory()
    client.force_login(user)
    response = client.get("/")
    assert response.status_code == 200
    assert b"No project yet" in response.content


def test_home_for_anonymous_redirects_to_login(client):
    assert client.get("/")["Location"].startswith("/login/")


def test_switcher_lists_only_the_users_projects_and_marks_the_current_one(client, reviewer, project):
    other_mine = ProjectFactory(name="Zeta <b>bot</b>")
    MembershipFactory(user=reviewer, project=other_mine, role="viewer")
    not_mine = ProjectFactory(name="Hidden project")
    client.force_login(reviewer)
    html = client.get(f"/p/{project.slug}/traces/").content.decode()
    menu = html.split('class="menu"')[1].split("</ul>")[0]
    assert f'href="/p/{project.slug}/traces/" aria-current="true"' in menu
    assert f'href="/p/{other_mine.slug}/traces/"' in menu
    assert "Zeta &lt;b&gt;bot&lt;/b&gt;" in menu
    assert not_mine.name not in html


def test_superuser_switcher_lists_every_project(client, project, other_project):
    admin = UserFactory(is_superuser=True, is_staff=True)
    client.force_login(admin)
    html = client.get(f"/p/{project.slug}/traces/").content.decode()
    assert f"/p/{other_project.slug}/traces/" in html
