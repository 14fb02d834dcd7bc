"""Projects (workspaces), who belongs to them with which role, and their ingestion keys."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone


class Project(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("traces:list", args=[self.slug])


class Role(models.TextChoices):
    VIEWER = "viewer", "Viewer"
    REVIEWER = "reviewer", "Reviewer"
    ADMIN = "admin", "Admin"


# What each role may do; a role includes everything of the roles before it.
ROLE_RANK = {Role.VIEWER: 0, Role.REVIEWER: 1, Role.ADMIN: 2}


class MembershipQuerySet(models.QuerySet):
    def for_user(self, user) -> MembershipQuerySet:
        return self.filter(user=user)


class Membership(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.REVIEWER)
    created_at = models.DateTimeField(default=timezone.now)
    # When the user last opened this project: "/" takes them back to it.
    last_visited_at = models.DateTimeField(null=True, blank=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="projects_membership_one_per_user"),
            models.CheckConstraint(
                condition=models.Q(role__in=[r.value for r in Role]), name="projects_membership_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.project} ({self.role})"

    def allows(self, role: str) -> bool:
        return ROLE_RANK[Role(self.role)] >= ROLE_RANK[Role(role)]


KEY_PREFIX = "trk_"
# The Langfuse SDK authenticates with a (public key, secret key) pair over HTTP Basic. The public
# key names the ingestion key and the secret is the ingestion key itself; the "pk-lf-" shape is
# what Langfuse tooling expects to see.
PUBLIC_KEY_PREFIX = "pk-lf-"


def new_public_key() -> str:
    return PUBLIC_KEY_PREFIX + secrets.token_hex(16)


def hash_key(raw: str) -> str:
    # Keys are 256 random bits, so a fast hash is as safe as a slow one and keeps ingestion cheap.
    # "surrogatepass": a hostile key (a lone surrogate from JSON) hashes to an unknown key
    # instead of raising; issued keys are ASCII, so their hashes are unchanged.
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


class IngestionKeyQuerySet(models.QuerySet):
    def active(self) -> IngestionKeyQuerySet:
        return self.filter(revoked_at__isnull=True)


class IngestionKey(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="ingestion_keys")
    name = models.CharField(max_length=200, blank=True)
    # The first characters of the key, shown so people can tell keys apart; never the whole key.
    prefix = models.CharField(max_length=16, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    # Not secret: with the key as the secret, it lets the Langfuse SDK authenticate (Basic auth).
    public_key = models.CharField(max_length=64, unique=True, default=new_public_key, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = IngestionKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.project})"

    @classmethod
    def issue(cls, *, project: Project, name: str = "", created_by=None) -> tuple[IngestionKey, str]:
        """Create a key and return it with the raw secret, which is never stored or shown again."""
        raw = KEY_PREFIX + secrets.token_urlsafe(32)
        key = cls.objects.create(
            project=project, name=name, prefix=raw[:12], key_hash=hash_key(raw), created_by=created_by
        )
        return key, raw

    @classmethod
    def authenticate(cls, raw: str | None) -> IngestionKey | None:
        if not raw or not isinstance(raw, str) or len(raw) > 200:
            return None
        key = cls.objects.active().select_related("project").filter(key_hash=hash_key(raw.strip())).first()
        if key is not None:
            key.touch()
        return key

    @classmethod
    def authenticate_pair(cls, public_key: str | None, secret: str | None) -> IngestionKey | None:
        """The active key whose secret is `secret`, if `public_key` is its public key (Langfuse auth)."""
        if (
            not public_key
            or not isinstance(public_key, str)
            or len(public_key) > 64
            or not public_key.isascii()
        ):
            return None  # compare_digest refuses non-ASCII text with a TypeError
        key = cls.authenticate(secret)
        if key is None or not secrets.compare_digest(key.public_key, public_key.strip()):
            return None
        return key

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def revoke(self) -> None:
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self.save(update_fields=["revoked_at"])

    def touch(self) -> None:
        # At most one write a minute per key, so a busy SDK does not write on every request.
        now = timezone.now()
        if self.last_used_at is None or now - self.last_used_at > timedelta(minutes=1):
            IngestionKey.objects.filter(pk=self.pk).update(last_used_at=now)
            self.last_used_at = now
