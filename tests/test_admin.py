"""Every model of the project's apps is in Django admin (SPEC §6), and its pages open."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse

from tests.projects.factories import UserFactory
from traces.ingest.normalise import ObservationIn, store_observations
from traces.models import Observation, Trace

pytestmark = pytest.mark.django_db

OUR_APPS = ["projects", "traces", "scorers", "reviews", "queues"]


def test_every_model_is_registered():
    missing = [
        model._meta.label
        for app in OUR_APPS
        for model in apps.get_app_config(app).get_models()
        if model not in admin.site._registry and not model._meta.auto_created
    ]
    assert missing == []


@pytest.mark.parametrize("app", OUR_APPS)
def test_changelists_open_for_a_superuser(client, app, project):
    store_observations(project, [ObservationIn(trace_id="t1", span_id="s1", name="<b>root</b>")])
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    for model in apps.get_app_config(app).get_models():
        if model not in admin.site._registry:
            continue
        opts = model._meta
        response = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        assert response.status_code == 200, opts.label


def test_traces_are_read_only_in_admin(client, project):
    store_observations(project, [ObservationIn(trace_id="t1", span_id="s1", name="root")])
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    trace = Trace.objects.get()
    page = client.get(reverse("admin:traces_trace_change", args=[trace.pk]))
    assert page.status_code == 200 and b'name="_save"' not in page.content
    assert client.get(reverse("admin:traces_trace_add")).status_code == 403
    obs = Observation.objects.get()
    response = client.post(reverse("admin:traces_observation_change", args=[obs.pk]), {"name": "changed"})
    assert response.status_code == 403
    obs.refresh_from_db()
    assert obs.name == "root"
