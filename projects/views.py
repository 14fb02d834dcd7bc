"""Home redirect and the pages for the project a user is in."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from projects.access import default_project_for


@login_required
def home(request: HttpRequest) -> HttpResponse:
    project = default_project_for(request)
    if project is None:
        return render(request, "projects/no_project.html")
    return redirect("traces:list", project.slug)
