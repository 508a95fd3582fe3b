"""The replication demo's sample source: a ``demo_shop`` database in the stack's
PostgreSQL (customers and orders), the task ``shop`` that replicates it, and the
scripted changes its CDC batches pick up (``headwater demo replication``)."""

from __future__ import annotations

from pathlib import Path

import yaml

from engine.config import Settings, project_file
from engine.errors import ConfigError, StackError
from engine.stack.postgres import PostgresService

DATABASE, CONNECTION, TASK = "demo_shop", "demo_shop", "shop"
SCHEMA_SQL = """
DROP SCHEMA IF EXISTS shop CASCADE;
CREATE SCHEMA shop;
CREATE TABLE shop.customers (id int PRIMARY KEY, name text NOT NULL, email text,
    created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE shop.orders (id bigint PRIMARY KEY, customer_id int NOT NULL,
    amount numeric(10,2) NOT NULL, status text NOT NULL, ordered_at timestamp NOT NULL);
INSERT INTO shop.customers (id, name, email)
    SELECT g, 'customer ' || g, 'c' || g || '@example.com' FROM generate_series(1, 200) g;
INSERT INTO shop.orders SELECT g, 1 + g % 200, (g % 97) * 1.5 + 1, 'paid',
    timestamp '2026-01-01' + g * interval '7 minutes' FROM generate_series(1, 5000) g;
"""
# Two waves of changes, each picked up by one CDC batch.
CHANGES = (
    (
        "INSERT INTO shop.orders SELECT g, 1 + g % 200, 42.00, 'paid', now()::timestamp "
        "FROM generate_series(5001, 5100) g",
        "UPDATE shop.orders SET status = 'shipped' WHERE id % 10 = 0",
        "INSERT INTO shop.customers (id, name, email) VALUES (201, 'new customer', NULL)",
    ),
    (
        "DELETE FROM shop.orders WHERE status = 'paid' AND id % 7 = 0",
        "UPDATE shop.customers SET email = 'changed@example.com' WHERE id <= 5",
    ),
)
MAPPINGS = {
    "rules": [
        {
            "rule-type": "selection",
            "rule-id": "1",
            "rule-name": "the shop schema",
            "object-locator": {"schema-name": "shop", "table-name": "%"},
            "rule-action": "include",
        }
    ]
}


def _source(settings: Settings) -> PostgresService:
    service = PostgresService(settings)
    if not service.is_healthy():
        raise StackError(
            f"the replication demo needs the stack's PostgreSQL on {service.address}, "
            "which does not answer",
            hint="start the stack first: make up",
        )
    return service


def create_source(settings: Settings) -> None:
    """The sample database, created or reset to its first state."""
    service = _source(settings)
    service.ensure_database(DATABASE)
    service.psql(SCHEMA_SQL, DATABASE)


def change_source(settings: Settings, wave: int) -> None:
    """One wave of changes, in one transaction."""
    _source(settings).psql(f"BEGIN; {'; '.join(CHANGES[wave])}; COMMIT;", DATABASE)


def project(settings: Settings) -> tuple[Path, bool]:
    """The project file the demo's commands read, and whether it was written now:
    ``headwater.yaml`` here when there is none (then `headwater replicate status
    shop` works as the README shows), else one under headwater's home."""
    demo = settings.home_path / "demo"
    demo.mkdir(parents=True, exist_ok=True)
    secret = demo / f"{CONNECTION}.password"
    secret.touch(mode=0o600)
    secret.write_text(settings.stack.postgres_password.get_secret_value())
    text = yaml.safe_dump(
        {
            "connections": {
                CONNECTION: {
                    "url": f"jdbc:postgresql://{settings.stack.host}:"
                    f"{settings.stack.postgres_port}/{DATABASE}",
                    "user": settings.stack.postgres_user,
                    "password_file": str(secret.resolve()),
                }
            },
            "replication_tasks": {
                TASK: {
                    "connection": CONNECTION,
                    "table_mappings": MAPPINGS,
                    "continuous_interval_seconds": 5,
                }
            },
        },
        sort_keys=False,
    )
    here = project_file()
    if not here.exists():
        here.write_text(f"# written by `headwater demo replication`\n{text}")
        return here, True
    existing = yaml.safe_load(here.read_text()) or {}
    tasks = existing.get("replication_tasks") or {}
    if TASK in tasks and (tasks[TASK] or {}).get("connection") != CONNECTION:
        raise ConfigError(
            f"{here} already defines a replication task {TASK!r} of another connection",
            hint="run the demo in another folder (it writes headwater.yaml there)",
        )
    elsewhere = demo / "headwater.yaml"
    elsewhere.write_text(text)
    return elsewhere, False
