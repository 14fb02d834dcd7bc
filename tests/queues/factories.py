"""Factories for review queues and their items."""

from __future__ import annotations

import factory

from queues.models import QueueItem, ReviewQueue
from tests.projects.factories import ProjectFactory
from tests.traces.factories import TraceFactory


class ReviewQueueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ReviewQueue

    project = factory.SubFactory(ProjectFactory)
    name = factory.Sequence(lambda n: f"Queue {n}")


class QueueItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = QueueItem

    queue = factory.SubFactory(ReviewQueueFactory)
    trace = factory.SubFactory(TraceFactory, project=factory.SelfAttribute("..queue.project"))
