"""Vacuum's retention under snapshot pins, and maintenance as a trigger action."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from engine.errors import JobError
from engine.maintenance import maintenance_job, retention_hours
from engine.orchestrate.definitions import ActionDefinition
from engine.state.pins import Pin

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)


def _pin(version: int, hours_ago: float) -> Pin:
    committed = (NOW - timedelta(hours=hours_ago)).isoformat()
    return Pin("s3a://raw/shop/orders", version, "shop.orders", committed, "c", committed)


def test_a_pin_raises_the_retention_to_cover_its_version() -> None:
    assert retention_hours(168, [], NOW) == (168, "")
    assert retention_hours(168, [_pin(3, 20)], NOW) == (168, "")  # already covered
    hours, why = retention_hours(24, [_pin(9, 30), _pin(3, 100.5)], NOW)
    assert hours == 102  # the oldest pin's age, rounded up, and an hour's margin
    assert why.startswith("retention raised to 102 h: version 3 is pinned by a snapshot")
    assert "headwater table unpin shop.orders --version 3" in why


def test_a_pin_without_a_commit_time_stops_the_vacuum_by_name() -> None:
    unknown = Pin("s3a://raw/shop/orders", 4, "shop.orders", "", "c", "")
    with pytest.raises(JobError, match=r"shop\.orders version 4 is pinned but its commit time"):
        retention_hours(24, [unknown], NOW)


def test_maintenance_is_a_trigger_action() -> None:
    action = ActionDefinition(maintenance="shop.orders", operation="vacuum", retain_hours=24)
    assert (action.kind, action.name, action.node) == (
        "maintenance",
        "shop.orders",
        "maintenance:shop.orders",
    )
    name, definition = maintenance_job(action.name, action.operation, retain_hours=24)
    assert name == "maintain-shop.orders" and definition.script == "jobs/maintain.py"
    assert definition.arguments["operation"] == "vacuum"
    with pytest.raises(ValidationError, match="'retain_hours' is for the vacuum operation"):
        ActionDefinition(maintenance="shop.orders", retain_hours=24)
    with pytest.raises(ValidationError, match="are for maintenance actions"):
        ActionDefinition(job="ingest", operation="vacuum")
