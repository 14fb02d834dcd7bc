"""URLs of trace pages. Trace ids may hold any character (SPEC §9), so they are percent-encoded,
`/` included: a browser would otherwise normalise ids like `a/../b` away before the server sees
them. The server decodes `%2F` back to `/` and `<path:trace_id>` matches the whole id again."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from django.urls import reverse

# Characters PostHog allows in trace ids that are also safe, unencoded, in a path segment.
SAFE_IN_SEGMENT = "-_.~@()!':"


def trace_url(project_slug: str, trace_id: str, *, span: str | None = None) -> str:
    base = reverse("traces:list", args=[project_slug])
    url = f"{base}{quote(trace_id, safe=SAFE_IN_SEGMENT)}/"
    if span:
        url += "?" + urlencode({"span": span})
    return url
