"""`manage.py create_project <slug> --name "<name>" [--admin <username>]` (SPEC §9)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_slug
from django.db import transaction

from projects.models import Membership, Project, Role


class Command(BaseCommand):
    help = "Create a project (or update its name) and optionally make a user its admin."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", default="")
        parser.add_argument("--admin", dest="admin", default=None, help="username to make admin")

    @transaction.atomic
    def handle(self, *args, slug: str, name: str, admin: str | None, **options):
        try:
            validate_slug(slug)
        except ValidationError as exc:
            raise CommandError(f"slug {slug!r}: use letters, digits, hyphens and underscores only") from exc
        project, created = Project.objects.get_or_create(slug=slug, defaults={"name": name or slug})
        if not created and name and project.name != name:
            project.name = name
            project.save(update_fields=["name"])
        if admin:
            user = get_user_model().objects.filter(username=admin).first()
            if user is None:
                raise CommandError(f"--admin: no user named {admin!r}")
            Membership.objects.update_or_create(project=project, user=user, defaults={"role": Role.ADMIN})
        self.stdout.write(f"{'Created' if created else 'Updated'} project {project.slug} ({project.name})")
