"""Today in numbers: orders, sales, average ticket, pickup against delivery, orders per hour (an
SVG bar chart written here, no script needed). Cancelled orders are counted apart and left out
of sales."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from markupsafe import Markup

from engine.model.order import StoredOrder

SPAN = 6


@dataclass(frozen=True)
class DayNumbers:
    orders: int
    """Not cancelled."""
    cancelled: int
    sales: int
    average: int
    pickup: int
    delivery: int
    per_hour: tuple[tuple[int, int], ...]
    """(hour, orders), every hour from the first to the last with an order (``SPAN`` hours at least)."""


def day_numbers(orders: list[StoredOrder], zone: ZoneInfo) -> DayNumbers:
    kept = [o for o in orders if o.status != "cancelado"]
    sales = sum(o.order.total for o in kept)
    hours = Counter(o.order.placed_at.astimezone(zone).hour for o in kept)
    per_hour: tuple[tuple[int, int], ...] = ()
    if hours:
        first, last = min(hours), max(hours)
        last = min(max(last, first + SPAN - 1), 23)  # a few hours at least, so one bar is not the whole chart
        first = max(min(first, last - SPAN + 1), 0)
        per_hour = tuple((hour, hours.get(hour, 0)) for hour in range(first, last + 1))
    return DayNumbers(
        orders=len(kept),
        cancelled=len(orders) - len(kept),
        sales=sales,
        average=round(sales / len(kept)) if kept else 0,
        pickup=sum(1 for o in kept if o.order.fulfilment == "pickup"),
        delivery=sum(1 for o in kept if o.order.fulfilment == "delivery"),
        per_hour=per_hour,
    )


def hours_chart(per_hour: tuple[tuple[int, int], ...], width: int = 640, height: int = 220) -> Markup:
    """Bars of orders per hour, labelled, as an SVG element."""
    if not per_hour:
        return Markup('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 640 60" role="img" aria-label="Sin pedidos">'
                      '<text x="320" y="35" text-anchor="middle" fill="#6b6459" font-size="16">Sin pedidos todavía</text></svg>')
    top = max(count for _, count in per_hour)
    left, bottom, head = 30, 30, 24
    slot = (width - left - 10) / len(per_hour)
    bar = min(max(slot * 0.7, 4), 56)
    scale = (height - bottom - head) / top
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="Pedidos por hora" class="hours-chart">',
             f'<line x1="{left}" y1="{height - bottom}" x2="{width - 5}" y2="{height - bottom}" stroke="#cbbfae"/>']
    for index, (hour, count) in enumerate(per_hour):
        x = left + index * slot + (slot - bar) / 2
        h = count * scale
        y = height - bottom - h
        parts.append(f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" rx="3" fill="#c2410c">'
                     f'<title>{hour}:00 · {count} pedido{"" if count == 1 else "s"}</title></rect>')
        if count:
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{y - 5:.1f}" text-anchor="middle" font-size="13" fill="#1f2328">{count}</text>')
        parts.append(f'<text x="{x + bar / 2:.1f}" y="{height - 10}" text-anchor="middle" font-size="12" fill="#6b6459">{hour}h</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
