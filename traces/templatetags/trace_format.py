"""Formatting for the trace pages: latency, cost, tokens, and encoded trace links."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django import template
from django.template.defaultfilters import date as date_filter

from traces.links import trace_url as build_trace_url

register = template.Library()


@register.filter
def duration(seconds: float | None) -> str:
    """0.0163 -> "16 ms", 1.5 -> "1.50 s", 75 -> "1m 15s"."""
    if seconds is None or seconds == "":
        return ""
    seconds = float(seconds)
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.2f} s"
    minutes, rest = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes}m {rest:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


@register.filter
def usd(value: Decimal | float | None) -> str:
    """Costs keep their significant digits: $0.000123, $0.0421, $12.35."""
    if value is None or value == "":
        return ""
    value = Decimal(value)
    if value == 0:
        return "$0"
    if abs(value) >= 1:
        return f"${value:,.2f}"
    if abs(value) >= Decimal("0.01"):
        return f"${value:.4f}".rstrip("0").rstrip(".")
    return f"${value:.6f}".rstrip("0").rstrip(".") if abs(value) >= Decimal("0.000001") else "<$0.000001"


@register.filter
def cost(value: Decimal | float | None) -> str:
    """The one rule for costs on every page: unknown is "—", a reported zero is "$0"."""
    return "—" if value is None or value == "" else usd(value)


@register.filter
def when(value: datetime | None) -> str:
    """The one short timestamp of the lists (traces, reviews, queues): "Dec 3, 11:30:00"."""
    return date_filter(value, "M j, H:i:s") if value else ""


@register.filter
def clock(value: datetime | None) -> str:
    """A time of day within a trace: "13:00:00", with milliseconds only when there are some."""
    if not value:
        return ""
    text = date_filter(value, "H:i:s")
    return f"{text}.{value.microsecond // 1000:03d}" if value.microsecond else text


@register.filter
def tokens(value: int | None) -> str:
    if value is None or value == "":
        return ""
    value = int(value)
    if value >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if value >= 10_000:
        return f"{value / 1000:.1f}k"
    return f"{value:,}"


@register.simple_tag
def trace_url(project, trace_id: str, span: str | None = None) -> str:
    """The trace page URL with the id percent-encoded (see traces.links)."""
    slug = project if isinstance(project, str) else project.slug
    return build_trace_url(slug, trace_id, span=span)


MAX_INDENT = 24


@register.filter
def depth_class(depth: int) -> str:
    """Indentation as a class (CSP forbids style attributes); deep chains stop indenting."""
    return f"d{min(int(depth), MAX_INDENT)}"
