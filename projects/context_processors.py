"""Template context every page needs: the project switcher and the current project's access."""

from __future__ import annotations

from django.http import HttpRequest

from projects.access import projects_for


def projects(request: HttpRequest) -> dict:
    access = getattr(request, "project_access", None)

    def switcher():  # evaluated lazily: only pages that show the switcher pay for the query
        return projects_for(request.user)

    return {"access": access, "project": access.project if access else None, "switcher_projects": switcher}
