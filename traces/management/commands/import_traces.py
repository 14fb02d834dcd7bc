"""`manage.py import_traces PATH... --project SLUG` (SPEC §2.1 item 3, §9).

Reads PostHog event JSON/JSONL, PostHog trace objects, Langfuse trace exports and OTLP JSON
(format detected per file and per document), stores them through the one normaliser, and reports
traces and observations created / updated / unchanged, ignored events, and every rejected record
with its file, line or index and reason. Importing the same file again changes nothing.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from projects.models import Project
from traces.ingest.importer import import_files

PROGRESS_MIN_BYTES = 1024 * 1024  # a bar only where there is something to wait for


class Command(BaseCommand):
    help = "Import traces from PostHog, Langfuse or OTLP JSON/JSONL files into a project."

    def add_arguments(self, parser):
        parser.add_argument(
            "paths", nargs="+", metavar="PATH", help="files, or folders of *.json/*.jsonl files"
        )
        parser.add_argument("--project", required=True, help="slug of the project to import into")
        parser.add_argument("--no-progress", action="store_true", help="never show a progress bar")

    def handle(self, *args, paths: list[str], project: str, no_progress: bool = False, **options):
        try:
            target = Project.objects.get(slug=project)
        except Project.DoesNotExist:
            raise CommandError(f"no project with slug {project!r} (create it with create_project)") from None
        files = _expand([Path(p) for p in paths])
        show_progress = (
            not no_progress and _is_tty(self.stdout) and any(_size(f) >= PROGRESS_MIN_BYTES for f in files)
        )
        started = time.monotonic()
        report = import_files(target, files, progress=self._progress if show_progress else None)
        if show_progress:
            self.stdout.write("")

        stored = report.stored
        self.stdout.write(
            f"Imported {report.files} file(s) into {target.slug} in {time.monotonic() - started:.1f}s: "
            f"traces {stored.traces_created} created, {stored.traces_updated} updated, "
            f"{stored.traces_unchanged} unchanged; observations {stored.observations_created} created, "
            f"{stored.observations_updated} updated, {stored.observations_unchanged} unchanged; "
            f"{report.ignored} skipped (not LLM events); {len(report.rejected)} rejected."
        )
        for rejection in report.rejected:
            self.stderr.write(f"rejected {rejection}")
        if report.rejected and not stored.observations_written and not stored.observations_unchanged:
            raise CommandError("nothing was imported")

    def _progress(self, done: int, total: int) -> None:
        width = 30
        filled = int(width * done / total) if total else width
        self.stdout.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {done * 100 // max(total, 1):3d}%", ending=""
        )
        self.stdout.flush()


def _expand(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.suffix in {".json", ".jsonl", ".ndjson"}))
        elif path.exists():
            files.append(path)
        else:
            raise CommandError(f"{path}: no such file or folder")
    return files


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _is_tty(stream) -> bool:
    target = getattr(stream, "_out", stream)
    return bool(getattr(target, "isatty", lambda: False)()) and target is sys.stdout
