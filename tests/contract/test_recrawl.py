"""A recrawl of changed files updates the table in place, one body for both profiles:
the new columns arrive, and the comment and property a user set survive (issue 17).
The stack profile changes the definition over the metastore's thrift API, the local
one through the Spark session's Hive client."""

from __future__ import annotations

from engine import storage
from tests.contract.conftest import settings_for
from tests.helpers import run_cli, run_cli_json


def test_a_recrawl_updates_in_place_and_keeps_what_users_set(
    profile_env: dict[str, str],
) -> None:
    settings = settings_for(profile_env)
    storage.ensure_buckets(settings, ["recrawl"])  # crawled by no other test
    store = storage.open_store(settings, "recrawl")
    store.put("recrawl/orders/day=1/a.csv", b"id,total\n1,10\n2,20\n")
    crawl = ["crawl", "s3://recrawl/recrawl/", "--database", "recrawl"]
    (first,) = run_cli_json(crawl, profile_env)
    assert first["action"] == "create"
    for statement in (
        "ALTER TABLE recrawl.orders ALTER COLUMN id COMMENT 'order number'",
        "ALTER TABLE recrawl.orders SET TBLPROPERTIES ('team' = 'ml')",
    ):
        done = run_cli(["catalog", "sql", statement], profile_env)
        assert done.returncode == 0, done.stderr[-3000:]

    store.put("recrawl/orders/day=2/a.csv", b"id,total,coupon\n3,30.5,SPRING\n")
    (second,) = run_cli_json(crawl, profile_env)
    assert second["action"] == "update"

    described = run_cli_json(["catalog", "describe", "recrawl.orders"], profile_env)[0]
    assert [(c["column"], c["type"], c["comment"]) for c in described["columns"]] == [
        ("id", "bigint", "order number"),
        ("total", "double", ""),
        ("coupon", "string", ""),
        ("day", "string", ""),
    ]
    assert described["parameters"]["team"] == "ml"
    rows = run_cli_json(
        ["catalog", "sql", "SELECT id, total, coupon, day FROM recrawl.orders ORDER BY id"],
        profile_env,
    )
    assert [(r["id"], r["total"], r["coupon"], r["day"]) for r in rows] == [
        (1, 10.0, None, "1"),
        (2, 20.0, None, "1"),
        (3, 30.5, "SPRING", "2"),
    ]
