"""The one access check every project page goes through (SPEC §1).

Non-members get 404 so that a project's existence is not revealed; members whose role is too low
get 403. Superusers may do everything everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db.models import F
from django.http import Http404, HttpRequest
from django.utils import timezone

from projects.models import ROLE_RANK, Membership, Project, Role


@dataclass(frozen=True)
class ProjectAccess:
    project: Project
    role: Role
    is_superuser: bool = False

    def allows(self, role: str) -> bool:
        return self.is_superuser or ROLE_RANK[self.role] >= ROLE_RANK[Role(role)]

    @property
    def can_review(self) -> bool:
        return self.allows(Role.REVIEWER)

    @property
    def is_admin(self) -> bool:
        return self.allows(Role.ADMIN)


SESSION_KEY = "current_project"


def get_project_access(request: HttpRequest, slug: str, role: str = Role.VIEWER) -> ProjectAccess:
    """Return the project named by `slug` for the logged-in user, checking `role`.

    Raises Http404 for non-members, PermissionDenied when the member's role is below `role`.
    Remembers the project as the user's current one, so "/" leads back to it.
    """
    user = request.user
    if not user.is_authenticated:
        raise Http404
    membership = (
        Membership.objects.select_related("project").filter(project__slug=slug, user=user).first()
    )
    if membership is not None:
        access = ProjectAccess(membership.project, Role(membership.role), user.is_superuser)
    elif user.is_superuser:
        project = Project.objects.filter(slug=slug).first()
        if project is None:
            raise Http404
        access = ProjectAccess(project, Role.ADMIN, True)
    else:
        raise Http404
    if not access.allows(role):
        raise PermissionDenied(f"This needs the {Role(role).label.lower()} role in {access.project.name}.")
    if request.session.get(SESSION_KEY) != access.project.slug:
        request.session[SESSION_KEY] = access.project.slug
        if membership is not None:
            Membership.objects.filter(pk=membership.pk).update(last_visited_at=timezone.now())
    request.project_access = access  # type: ignore[attr-defined]
    return access


def projects_for(user) -> list[Project]:
    """Projects the user may open, for the project switcher."""
    if not user.is_authenticated:
        return []
    if user.is_superuser:
        return list(Project.objects.all())
    return list(Project.objects.filter(memberships__user=user).order_by("name"))


def default_project_for(request: HttpRequest) -> Project | None:
    """The user's last project: the one of this session, else the membership visited last."""
    user = request.user
    slug = request.session.get(SESSION_KEY)
    allowed = Project.objects.all() if user.is_superuser else Project.objects.filter(memberships__user=user)
    if slug:
        project = allowed.filter(slug=slug).first()
        if project is not None:
            return project
    membership = (
        Membership.objects.filter(user=user)
        .select_related("project")
        .order_by(F("last_visited_at").desc(nulls_last=True), "project__name")
        .first()
    )
    if membership is not None:
        return membership.project
    return allowed.first()
