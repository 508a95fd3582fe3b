"""Connections from headwater.yaml and the JDBC include-path rules (no database)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.connections import (
    catalog_conf,
    catalog_secrets,
    driver_coordinates,
    load_connections,
)
from engine.crawl.jdbc import like
from engine.errors import ConfigError


@pytest.fixture(autouse=True)
def _project(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    path = tmp_path / "headwater.yaml"
    monkeypatch.setenv("HEADWATER_PROJECT_FILE", str(path))
    return path


def test_a_connection_becomes_a_spark_catalog_with_its_password_apart(
    _project: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secret_file = tmp_path / "pw"
    secret_file.write_text("s3cr3t-file\n")
    _project.write_text(
        "connections:\n"
        "  shop: {url: 'jdbc:postgresql://db.local/shop', user: reader, password_env: SHOP_PW}\n"
        "  crm: {url: 'jdbc:mysql://127.0.0.1:3307/crm', user: u,"
        f" password_file: {secret_file}}}\n"
    )
    monkeypatch.setenv("SHOP_PW", "s3cr3t-env")
    connections = load_connections()
    shop = connections["shop"]
    assert (shop.kind, shop.host, shop.port, shop.database) == (
        "postgresql",
        "db.local",
        5432,
        "shop",
    )
    assert connections["crm"].port == 3307
    conf = catalog_conf(connections)
    assert conf["spark.sql.catalog.shop.url"] == "jdbc:postgresql://db.local/shop"
    assert all("s3cr3t" not in value for value in conf.values())
    assert catalog_secrets(connections) == {
        "spark.sql.catalog.shop.password": "s3cr3t-env",
        "spark.sql.catalog.crm.password": "s3cr3t-file",
    }
    monkeypatch.delenv("SHOP_PW")
    with pytest.raises(ConfigError, match=r"SHOP_PW .* is not set"):
        shop.password()
    assert "spark.sql.catalog.shop.password" not in catalog_secrets(connections)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("  shop: {url: 'postgres://x/y', user: u, password_env: P}", "url must look like"),
        ("  shop: {url: 'jdbc:postgresql://x/y', user: u}", "exactly one of password_env"),
        ("  shop: {url: 'jdbc:postgresql://x/y', user: u, password: p}", "Extra inputs"),
        ("  Shop-1: {url: 'jdbc:postgresql://x/y', user: u, password_env: P}", "catalog name"),
    ],
)
def test_bad_connections_are_named(_project: Path, body: str, message: str) -> None:
    _project.write_text("connections:\n" + body + "\n")
    with pytest.raises(ConfigError, match=message):
        load_connections()


def test_include_paths_are_sql_like_patterns() -> None:
    assert like("public").fullmatch("PUBLIC")
    assert like("ord%").fullmatch("orders") and not like("ord%").fullmatch("xorders")
    assert like("t_").fullmatch("t1") and not like("t_").fullmatch("t12")
    assert like("a.b").fullmatch("a.b") and not like("a.b").fullmatch("axb")


def test_another_database_is_a_connection_by_its_driver(_project: Path) -> None:
    _project.write_text(
        "connections:\n"
        "  wh: {url: 'jdbc:h2:/srv/h2/wh;MODE=LEGACY', driver: 'com.h2database:h2:2.3.232',"
        " driver_class: org.h2.Driver, user: sa}\n"
    )
    connections = load_connections()
    wh = connections["wh"]
    assert (wh.kind, wh.subprotocol, wh.driver_name) == ("jdbc", "h2", "org.h2.Driver")
    assert wh.password() == "" and wh.describe() == "jdbc:h2:/srv/h2/wh"
    conf = catalog_conf(connections)
    assert conf["spark.sql.catalog.wh.driver"] == "org.h2.Driver"
    assert conf["spark.sql.catalog.wh.url"] == "jdbc:h2:/srv/h2/wh;MODE=LEGACY"
    assert driver_coordinates(connections) == ["com.h2database:h2:2.3.232"]

    for body, said in [
        ("{url: 'jdbc:h2:/x', driver: 'com.h2database:h2:2.3.232', user: sa}", "driver_class"),
        ("{url: 'jdbc:h2:/x', driver: 'h2', driver_class: org.h2.Driver, user: sa}", "driver"),
        ("{url: 'jdbc:h2:/x', user: sa, password_env: X}", "give its driver"),
        ("{url: 'h2:/x', driver: 'a:b:1', driver_class: A, user: sa}", "a JDBC URL"),
    ]:
        _project.write_text(f"connections:\n  wh: {body}\n")
        with pytest.raises(ConfigError, match=said):
            load_connections()
