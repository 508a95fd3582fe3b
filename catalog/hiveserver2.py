"""A :class:`~catalog.hive.SqlRunner` over HiveServer2 (the Spark Thrift Server), via PyHive.

No JVM in the caller: this is how the CLI and ML code read the catalog in the
``stack`` profile.
"""

from __future__ import annotations

import logging
from typing import Any

from catalog.errors import CatalogError, CatalogUnavailableError


class HiveServer2Runner:
    def __init__(self, host: str, port: int, username: str = "headwater") -> None:
        self.host = host
        self.port = port
        self.username = username
        self._connection: Any = None

    def _connect(self) -> Any:
        if self._connection is None:
            from pyhive import hive
            from thrift.transport.TTransport import TTransportException

            # the socket logs each refused address itself; the error below says it once
            logging.getLogger("thrift.transport.TSocket").setLevel(logging.CRITICAL)

            try:
                self._connection = hive.connect(
                    host=self.host, port=self.port, username=self.username, auth="NONE"
                )
            except (TTransportException, OSError) as exc:
                raise CatalogUnavailableError(
                    f"cannot reach the Spark Thrift Server at {self.host}:{self.port}",
                    hint="see which services run: `headwater stack status`; start the stack "
                    "with `make up` (or `headwater stack up`)",
                ) from exc
        return self._connection

    def sql(self, statement: str) -> list[Any]:
        return self.query(statement)[1]

    def query(self, statement: str) -> tuple[list[str], list[Any]]:
        """Column names and rows of one statement."""
        from pyhive.exc import Error as HiveError

        cursor = self._connect().cursor()
        try:
            cursor.execute(statement)
            if not cursor.description:
                return [], []
            names = [str(d[0]).rsplit(".", 1)[-1] for d in cursor.description]
            return names, list(cursor.fetchall())
        except HiveError as exc:
            raise CatalogError(f"{_first_line(exc)} (statement: {statement[:200]})") from exc
        finally:
            cursor.close()

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def _first_line(exc: Exception) -> str:
    text = str(exc)
    message = getattr(exc, "args", [None])[0]
    status = getattr(message, "status", None)
    if status is not None and getattr(status, "errorMessage", None):
        text = status.errorMessage
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__
