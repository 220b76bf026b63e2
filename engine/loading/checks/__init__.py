"""Meaning checks: what a schema cannot see. Each check is a small named function.

A check takes the built flows and yields ``(file kind, problem)``; the loader locates each
problem in its file. Problems are written for the people who edit the flows. The checks live in
modules by topic, each next to the problem kinds it raises: ``targets`` (where steps lead),
``paths`` (whether the conversation can go on and end), ``messages``, ``templates``,
``conditions``, ``answers`` (what an order needs), ``menu``, ``hours`` and ``buttons`` (what is offered
to tap fits WhatsApp's buttons and lists).
"""

from __future__ import annotations

from engine.loading.checks.answers import check_order_answers
from engine.loading.checks.buttons import check_buttons
from engine.loading.checks.common import Check
from engine.loading.checks.conditions import check_condition_values, check_conditions
from engine.loading.checks.hours import check_hours, check_overlaps, check_timezone
from engine.loading.checks.menu import check_duplicate_ids, check_menu_options
from engine.loading.checks.messages import check_messages_exist, check_unused_messages
from engine.loading.checks.paths import (
    check_endless_loops,
    check_reachable,
    check_way_out,
)
from engine.loading.checks.targets import (
    check_choice_targets,
    check_default_branches,
    check_targets,
)
from engine.loading.checks.templates import check_templates
from engine.loading.problems import FlowProblem
from engine.loading.source import Source
from engine.runtime.flows import Flows

CHECKS: tuple[Check, ...] = (
    check_targets,
    check_default_branches,
    check_choice_targets,
    check_reachable,
    check_way_out,
    check_endless_loops,
    check_messages_exist,
    check_unused_messages,
    check_templates,
    check_conditions,
    check_condition_values,
    check_order_answers,
    check_duplicate_ids,
    check_menu_options,
    check_timezone,
    check_hours,
    check_overlaps,
    check_buttons,
)
"""Every meaning check, in the order their problems are most useful."""


def run_checks(flows: Flows, sources: dict[str, Source]) -> list[tuple[str, FlowProblem]]:
    found: list[tuple[str, FlowProblem]] = []
    for check in CHECKS:
        found.extend(check(flows, sources))
    return found
