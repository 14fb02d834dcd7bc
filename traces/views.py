"""Traces list and trace page. (Being built: see issue 2.)"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render

from projects.access import get_project_access
from traces.models import Trace


@login_required
def trace_list(request, slug: str):
    access = get_project_access(request, slug)
    traces = Trace.objects.for_project(access.project).newest_first()[:50]
    return render(request, "traces/trace_list.html", {"traces": traces})


@login_required
def trace_detail(request, slug: str, trace_id: str):
    access = get_project_access(request, slug)
    trace = get_object_or_404(Trace, project=access.project, trace_id=trace_id)
    return render(request, "traces/trace_detail.html", {"trace": trace})
