"""`manage.py load_demo`: the demo project, a login, and the sample traces (used by `make run`).

Idempotent: running it again keeps the data and resets nothing but the demo password.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

from projects.models import Membership, Project, Role

DEMO_USER = "demo"
DEMO_PASSWORD = "demo-review-2026"
DEMO_PROJECT = "demo"


class Command(BaseCommand):
    help = "Create the demo project and user and import the sample traces."

    def handle(self, *args, **options):
        User = get_user_model()
        user, _ = User.objects.get_or_create(username=DEMO_USER, defaults={"email": "demo@example.com"})
        user.is_staff = True
        user.is_superuser = True
        user.set_password(DEMO_PASSWORD)
        user.save()
        project, _ = Project.objects.get_or_create(slug=DEMO_PROJECT, defaults={"name": "Demo — support bot"})
        Membership.objects.update_or_create(project=project, user=user, defaults={"role": Role.ADMIN})
        self._import_samples(project)
        self.stdout.write("")
        self.stdout.write("Trace Review is starting at http://127.0.0.1:8000/")
        self.stdout.write(f"Log in with user: {DEMO_USER}  password: {DEMO_PASSWORD}")
        self.stdout.write("")

    def _import_samples(self, project: Project) -> None:
        from django.conf import settings

        samples = sorted((settings.BASE_DIR / "traces" / "samples").glob("*.json*"))
        if samples and "import_traces" in _commands():
            call_command("import_traces", *map(str, samples), project=project.slug, stdout=self.stdout)


def _commands() -> set[str]:
    from django.core.management import get_commands

    return set(get_commands())
