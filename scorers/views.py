"""Scorer pages: list, create, detail/edit, version history, archive (SPEC §3).

Everyone in the project reads; project admins create, edit and archive. The editor posts to its
own URL for three purposes: a row action (`_action`: add/remove/move an option, switch the kind)
re-renders the editor, an htmx post without an action re-renders the live preview, and a plain
submit saves. None but the last writes anything.
"""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from projects.access import ProjectAccess, get_project_access
from projects.models import Role
from scorers import services
from scorers.configs import describe_changes
from scorers.filters import ScorerFilter
from scorers.forms import ScorerForm, preview_context
from scorers.models import Scorer

FORM_TEMPLATE = "scorers/scorer_form.html"


@login_required
def scorer_list(request: HttpRequest, slug: str) -> HttpResponse:
    access = get_project_access(request, slug)
    scorers = Scorer.objects.for_project(access.project).select_related("current_version").with_counts()
    scorer_filter = ScorerFilter(request.GET, queryset=scorers)
    context = {"nav": "scorers", "filter": scorer_filter, "scorers": scorer_filter.qs}
    template = "scorers/scorer_list.html#results" if request.htmx else "scorers/scorer_list.html"
    return render(request, template, context)


@login_required
@require_http_methods(["GET", "POST"])
def scorer_create(request: HttpRequest, slug: str) -> HttpResponse:
    access = get_project_access(request, slug, Role.ADMIN)
    if request.method == "GET":
        return _render_form(request, access, ScorerForm())
    form = ScorerForm(request.POST)
    if response := _unsaved_render(request, access, form):
        return response
    if form.is_valid():
        try:
            scorer = services.create_scorer(
                project=access.project,
                kind=form.current_kind,
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
                config=form.config,
                user=request.user,
            )
        except ValidationError as e:
            _add_errors(form, e)
        else:
            messages.success(request, f"Created “{scorer.name}” (version 1).")
            return redirect(scorer)
    return _render_form(request, access, form, status=400)


@login_required
@require_http_methods(["GET", "POST"])
def scorer_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Admins get the editor; reviewers and viewers the read-only view. POST needs admin."""
    access = get_project_access(request, slug, Role.ADMIN if request.method == "POST" else Role.VIEWER)
    scorer = get_object_or_404(
        Scorer.objects.for_project(access.project).select_related("current_version"), pk=pk
    )
    if request.method == "GET":
        if not access.is_admin:
            return render(request, FORM_TEMPLATE, _context(access, None, scorer=scorer))
        return _render_form(request, access, ScorerForm(scorer=scorer), scorer=scorer)
    form = ScorerForm(request.POST, scorer=scorer)
    if response := _unsaved_render(request, access, form, scorer=scorer):
        return response
    if form.is_valid():
        try:
            scorer, version = services.update_scorer(
                scorer=scorer,
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
                config=form.config,
                user=request.user,
            )
        except ValidationError as e:
            _add_errors(form, e)
        else:
            if version is not None:
                messages.success(request, f"Saved “{scorer.name}”: version {version.number} is now current.")
            else:
                messages.success(
                    request, f"Saved “{scorer.name}”. The settings did not change: no new version."
                )
            return redirect(scorer)
    return _render_form(request, access, form, scorer=scorer, status=400)


@login_required
def scorer_history(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    access = get_project_access(request, slug)
    scorer = get_object_or_404(Scorer.objects.for_project(access.project), pk=pk)
    versions = list(scorer.versions.select_related("created_by").order_by("-number"))
    for version, previous in zip(versions, [*versions[1:], None], strict=True):
        version.config_json = json.dumps(version.config, indent=2, ensure_ascii=False)
        version.changes = describe_changes(scorer.kind, previous.config, version.config) if previous else []
    return render(
        request,
        "scorers/scorer_history.html",
        {"nav": "scorers", "scorer": scorer, "versions": versions},
    )


@login_required
@require_POST
def scorer_archive(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """POST `archive=1` archives, `archive=0` brings the scorer back."""
    access = get_project_access(request, slug, Role.ADMIN)
    scorer = get_object_or_404(Scorer.objects.for_project(access.project), pk=pk)
    if request.POST.get("archive") == "0":
        try:
            services.unarchive_scorer(scorer=scorer)
        except ValidationError as e:
            messages.error(request, e.messages[0])
            return redirect(scorer)
        messages.success(request, f"“{scorer.name}” is active again.")
    else:
        scorer.archive()
        messages.success(request, f"Archived “{scorer.name}”: it is no longer offered for new reviews.")
    return redirect(scorer)


# -- helpers ------------------------------------------------------------------------------------


def _unsaved_render(
    request: HttpRequest, access: ProjectAccess, form: ScorerForm, scorer: Scorer | None = None
) -> HttpResponse | None:
    """Row actions and the live preview re-render without saving; None means "save"."""
    action = request.POST.get("_action", "")
    if action:
        form.apply_action(action)
        template = f"{FORM_TEMPLATE}#editor" if request.htmx else FORM_TEMPLATE
        return render(request, template, _context(access, form, scorer=scorer))
    if request.htmx and request.POST.get("_preview"):
        return render(request, f"{FORM_TEMPLATE}#preview", _context(access, form, scorer=scorer))
    return None


def _context(
    access: ProjectAccess, form: ScorerForm | None, *, scorer: Scorer | None = None, show_errors: bool = False
) -> dict:
    preview = form.preview() if form is not None else preview_context(scorer.kind, scorer.config)
    return {
        "nav": "scorers",
        "scorer": scorer,
        "form": form,
        "preview": preview,
        "preview_name": (form.values["name"].strip() if form else "")
        or (scorer.name if scorer else "Scorer name"),
        "show_errors": show_errors,
        "can_edit": access.is_admin,
    }


def _render_form(
    request: HttpRequest,
    access: ProjectAccess,
    form: ScorerForm,
    *,
    scorer: Scorer | None = None,
    status: int = 200,
) -> HttpResponse:
    context = _context(access, form, scorer=scorer, show_errors=form.is_bound)
    return render(request, FORM_TEMPLATE, context, status=status)


def _add_errors(form: ScorerForm, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, messages_ in error.message_dict.items():
            for message in messages_:
                form.add_error(field if field in form.fields else None, message)
    else:
        for message in error.messages:
            form.add_error(None, message)
