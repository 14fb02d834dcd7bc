"""`manage.py create_ingestion_key <project-slug>`: prints the new key alone on its last line."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from projects.models import IngestionKey, Project


class Command(BaseCommand):
    help = "Create an ingestion key for a project. The key is printed once and never stored in clear."

    def add_arguments(self, parser):
        parser.add_argument("project_slug")
        parser.add_argument("--name", default="")

    def handle(self, *args, project_slug: str, name: str, **options):
        project = Project.objects.filter(slug=project_slug).first()
        if project is None:
            raise CommandError(f"project {project_slug!r} does not exist")
        key, raw = IngestionKey.issue(project=project, name=name)
        self.stderr.write(f"Ingestion key {key.prefix}… for {project.slug}; it will not be shown again:")
        self.stdout.write(raw)
