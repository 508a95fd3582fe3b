"""The native stack, for real: PostgreSQL, the metastore, MinIO, the Thrift Server."""

from __future__ import annotations

import json
import time
from pathlib import Path

from engine import storage
from engine.stack import launcher
from engine.stack.postgres import PostgresService
from tests.helpers import run_cli, run_cli_json
from tests.stack_fixture import StackRun

LOOPBACK_V4 = "0100007F"  # 127.0.0.1 in /proc/net/tcp
LOOPBACK_V6 = {"00000000000000000000000001000000", "0000000000000000FFFF00000100007F"}


def _listeners(port: int) -> list[str]:
    addresses = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, hex_port = fields[1].split(":")
            if fields[3] == "0A" and int(hex_port, 16) == port:  # 0A = LISTEN
                addresses.append(address)
    return addresses


def test_every_service_is_healthy_and_listens_on_loopback_only(stack: StackRun) -> None:
    statuses = launcher.status(stack.settings, launcher.STACK)
    assert [(s.name, s.state) for s in statuses] == [(n, "healthy") for n in launcher.STACK]
    for service in statuses:
        port = int(service.address.rsplit(":", 1)[1])
        found = _listeners(port)
        assert found, f"{service.name}: nothing listens on {port}"
        for address in found:
            assert address == LOOPBACK_V4 or address in LOOPBACK_V6, (service.name, address)


def test_metastore_schema_lives_in_postgres(stack: StackRun) -> None:
    postgres = PostgresService(stack.settings)
    tables = int(
        postgres.psql(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'",
            stack.settings.stack.metastore_database,
        )
    )
    assert tables >= 40  # DataNucleus' metastore schema (DBS, TBLS, PARTITIONS …)
    assert postgres.psql("SHOW wal_level") == "logical"  # ready for CDC


def test_buckets_exist_on_the_s3_server(stack: StackRun) -> None:
    client = storage.s3_client(stack.settings)
    names = {b["Name"] for b in client.list_buckets()["Buckets"]}
    assert {"landing", "raw"} <= names


def test_up_is_idempotent(stack: StackRun) -> None:
    before = {s.name: s.pid for s in launcher.status(stack.settings, launcher.STACK)}
    started = time.monotonic()
    launcher.up(stack.settings)
    assert time.monotonic() - started < 30
    after = {s.name: s.pid for s in launcher.status(stack.settings, launcher.STACK)}
    assert after == before


def test_status_command_reports_each_service(stack: StackRun) -> None:
    rows = run_cli_json(["stack", "status"], stack.env)
    states = {row["service"]: row["state"] for row in rows}
    assert all(states[name] == "healthy" for name in launcher.STACK)
    assert states["spark-master"] == "stopped"


def test_the_profile_defaults_to_stack_while_it_runs(stack: StackRun) -> None:
    env = {k: v for k, v in stack.env.items() if k != "HEADWATER_PROFILE"}
    result = run_cli(["catalog", "databases", "--json"], env)
    assert result.returncode == 0, result.stderr
    # the stack comes with its landing and raw databases
    assert {"default", "landing", "raw"} <= {row["database"] for row in json.loads(result.stdout)}


def test_no_secret_in_logs_or_command_lines(stack: StackRun) -> None:
    secrets = {
        stack.settings.s3.secret_key.get_secret_value(),
        stack.settings.stack.postgres_password.get_secret_value(),
    }
    for log in Path(stack.settings.state_dir).rglob("*.log"):
        text = log.read_text(errors="replace")
        for secret in secrets:
            assert secret not in text, log
    for status in launcher.status(stack.settings, launcher.STACK):
        cmdline = Path(f"/proc/{status.pid}/cmdline").read_bytes().decode(errors="replace")
        for secret in secrets:
            assert secret not in cmdline, status.name


def test_crawl_plan_writes_nothing_and_unknown_paths_are_named(stack: StackRun) -> None:
    store = storage.open_store(stack.settings, "landing")
    store.put("planned/events/part-0.csv", b"id,kind\n1,click\n2,view\n")
    store.put("planned/events/_SUCCESS", b"")
    store.put("planned/blob/x.bin", b"\x00\x01\x02\x03 binary")
    result = run_cli(
        ["crawl", "s3://landing/planned/", "--database", "planning", "--plan"], stack.env
    )
    assert result.returncode == 0, result.stderr
    assert "plan only: nothing written" in result.stdout
    assert "planned/blob/x.bin" in result.stdout  # unclassified file named
    databases = run_cli_json(["catalog", "databases"], stack.env)
    assert "planning" not in {row["database"] for row in databases}


def test_a_missing_table_gives_one_clear_line(stack: StackRun) -> None:
    result = run_cli(["catalog", "describe", "landing.does_not_exist"], stack.env)
    assert result.returncode == 1
    assert "landing.does_not_exist does not exist" in result.stderr
    assert "Traceback" not in result.stderr
