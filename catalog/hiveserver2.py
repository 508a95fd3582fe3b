"""A :class:`~catalog.hive.SqlRunner` over HiveServer2 (the Spark Thrift Server), via PyHive.

No JVM in the caller: this is how the CLI and ML code read the catalog in the
``stack`` profile.
"""

from __future__ import annotations

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

            try:
                self._connection = hive.connect(
                    host=self.host, port=self.port, username=self.username, auth="NONE"
                )
            except (TTransportException, OSError) as exc:
                raise CatalogUnavailableError(
                    f"cannot reach the Spark Thrift Server at {self.host}:{self.port}",
                    hint="start the stack with `make up` (or `headwater stack up`)",
                ) from exc
        return self._connection

    def sql(self, statement: str) -> list[Any]:
        from pyhive.exc import Error as HiveError

        cursor = self._connect().cursor()
        try:
            cursor.execute(statement)
            return list(cursor.fetchall()) if cursor.description else []
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
