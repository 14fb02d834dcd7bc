"""Scorer pages. (Being built: see issue 3.)"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from projects.access import get_project_access


@login_required
def scorer_list(request, slug: str):
    get_project_access(request, slug)
    return render(request, "scorers/scorer_list.html", {"nav": "scorers"})
