"""`manage.py create_ingestion_key <project-slug>`: prints the new key alone on its last line.

With `--langfuse`, the key's Langfuse public key is printed on the line before it: the Langfuse SDK
takes that as LANGFUSE_PUBLIC_KEY and the key itself as LANGFUSE_SECRET_KEY.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from projects.models import IngestionKey, Project


class Command(BaseCommand):
    help = "Create an ingestion key for a project. The key is printed once and never stored in clear."

    def add_arguments(self, parser):
        parser.add_argument("project_slug")
        parser.add_argument("--name", default="")
        parser.add_argument(
            "--langfuse",
            action="store_true",
            help="also print the Langfuse public key (on the line before the key, which stays last)",
        )

    def handle(self, *args, project_slug: str, name: str, langfuse: bool = False, **options):
        project = Project.objects.filter(slug=project_slug).first()
        if project is None:
            raise CommandError(f"project {project_slug!r} does not exist")
        key, raw = IngestionKey.issue(project=project, name=name)
        self.stderr.write(f"Ingestion key {key.prefix}… for {project.slug}; it will not be shown again:")
        if langfuse:
            self.stderr.write("Langfuse SDK: LANGFUSE_PUBLIC_KEY is the first line, LANGFUSE_SECRET_KEY the last.")
            self.stdout.write(key.public_key)
        self.stdout.write(raw)
