"""Django admin for queues and items: lists, the deleted filter, search."""

from __future__ import annotations

import pytest
from django.urls import reverse

from queues import services
from tests.queues.factories import QueueItemFactory, ReviewQueueFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def superclient(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.com", "pw"))
    return client


def test_queue_changelist_filters_deleted_queues(superclient, project):
    ReviewQueueFactory(project=project, name="Alive")
    gone = ReviewQueueFactory(project=project, name="Gone")
    services.delete_queue(queue=gone)
    url = reverse("admin:queues_reviewqueue_changelist")
    assert "Gone" in superclient.get(url).content.decode()
    active = superclient.get(url + "?deleted=no").content.decode()
    assert "Alive" in active and "Gone" not in active
    deleted = superclient.get(url + "?deleted=yes").content.decode()
    assert "Gone" in deleted and "Alive" not in deleted


def test_item_changelist_and_change_page(superclient, project):
    item = QueueItemFactory(queue=ReviewQueueFactory(project=project))
    html = superclient.get(
        reverse("admin:queues_queueitem_changelist") + "?state=pending&q=" + item.trace.trace_id
    )
    assert html.status_code == 200 and item.trace.trace_id in html.content.decode()
    assert superclient.get(reverse("admin:queues_queueitem_change", args=[item.pk])).status_code == 200
    assert (
        superclient.get(reverse("admin:queues_reviewqueue_change", args=[item.queue_id])).status_code == 200
    )
