"""Fixed statements of the clearance path, compiled once per dialect and run on the driver.

A clearance is a dozen statements; through ``Connection.execute`` each one costs SQLAlchemy's
cache lookup, execution context, parameter processing and event dispatch, several times what
SQLite itself spends on a one-row INSERT (issue 14). A ``Prebuilt`` statement is compiled once
per dialect; each call turns its parameters into the driver's form with the column types'
own bind processors (the same conversions ``Connection.execute`` applies) and runs it on the
DBAPI cursor of the caller's connection, inside the caller's transaction. A driver error is
raised as SQLAlchemy's ``DBAPIError`` subclass (``IntegrityError`` ...), as
``Connection.execute`` raises it, so transactions.py translates it as before.

Only statements whose SQL does not depend on the parameters qualify: no expanding ``IN``, no
Python-side column defaults (``prebuilt`` refuses them when it compiles).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Insert, Table, bindparam, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.engine.interfaces import DBAPICursor
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.sql.selectable import Select

_Processor = Callable[[Any], Any] | None


def _observed(connection: Connection) -> bool:
    """Someone listens to this connection's statements (a test counting them, a tracer): they
    go through ``Connection.execute`` then, so that every listener sees them as before."""
    dispatch = connection.dispatch
    return bool(dispatch.before_cursor_execute or dispatch.after_cursor_execute)


#: the most rows ``Prebuilt.bound_rows`` puts in one INSERT
MANY_ROWS = 32


def _plain_insert(statement: object) -> bool:
    """An ``insert(table)`` with nothing more: no values, select, conflict clause or
    RETURNING of its own."""
    return (
        type(statement) is Insert
        and isinstance(statement.table, Table)
        and statement.compare(insert(statement.table))
    )


@dataclass(frozen=True)
class _Compiled:
    sql: str
    #: parameter names in the order of the SQL's placeholders, each with its bind processor
    #: (None: the value goes as it is); None: the driver takes a dict
    ordered: tuple[tuple[str, _Processor], ...] | None
    processors: dict[str, Callable[[Any], Any]]
    #: a SELECT's column names and result processors, in the order of its columns
    results: tuple[tuple[str, _Processor], ...]


class Prebuilt:
    """One Core statement; ``columns``: the parameter names every call passes."""

    def __init__(self, statement: Select[Any] | UpdateBase, columns: Sequence[str]):
        self.statement = statement
        self.columns = tuple(columns)
        self._by_dialect: dict[tuple[str, str, str], _Compiled] = {}
        self._many: dict[int, Prebuilt] = {}  # ``bound_rows``, by count of rows
        self._plain: bool | None = None  # a plain INSERT (``bound_rows``), once known

    def _compiled(self, dialect: Dialect) -> _Compiled:
        key = (dialect.name, dialect.driver, dialect.paramstyle)
        found = self._by_dialect.get(key)
        if found is not None:
            return found
        compiled = self.statement.compile(dialect=dialect, column_keys=list(self.columns))
        assert isinstance(compiled, SQLCompiler)
        unknown = set(compiled.binds) - set(self.columns)
        if unknown or compiled.literal_execute_params or compiled.post_compile_params:
            raise ValueError(f"not a fixed statement for these parameters: {sorted(unknown)}")
        processors: dict[str, Callable[[Any], Any]] = {}
        for name, bind in compiled.binds.items():
            processor: _Processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                processors[name] = processor
        order = compiled.positiontup
        ordered = None
        if compiled.positional and order is not None:
            ordered = tuple((name, processors.get(name)) for name in order)
        results: tuple[tuple[str, _Processor], ...] = ()
        if isinstance(self.statement, Select | UpdateBase):  # a SELECT, or DML's RETURNING
            results = tuple(
                (str(c.key), c.type.dialect_impl(dialect).result_processor(dialect, None))
                for c in self.statement.exported_columns
            )
        found = _Compiled(compiled.string, ordered, processors, results)
        self._by_dialect[key] = found
        return found

    def execute(
        self, connection: Connection, parameters: Mapping[str, Any] | Sequence[Mapping[str, Any]]
    ) -> int:
        """Run with one row of parameters (execute) or several (executemany); returns the
        row count."""
        if _observed(connection):
            return connection.execute(self.statement, parameters).rowcount
        cursor = self._run(connection, parameters)
        try:
            return int(cursor.rowcount)
        finally:
            cursor.close()

    def bound(self, dialect: Dialect, values: Mapping[str, Any]) -> tuple[str, Any]:
        """The driver's SQL and parameters for one row, as ``execute`` sends them (held to be
        sent later: pipeline.py)."""
        compiled = self._compiled(dialect)
        return compiled.sql, self._row(compiled, values)

    def bound_rows(
        self, dialect: Dialect, rows: Sequence[Mapping[str, Any]]
    ) -> tuple[str, Any] | None:
        """A plain INSERT of several rows as one statement (``INSERT ... VALUES (...),
        (...)``, the rows in the order given), as ``bound`` gives it: one statement for the
        server to run instead of one per row (pipeline.py). None when this is not a plain
        INSERT, or for more than ``MANY_ROWS`` rows."""
        statement = self.statement
        if self._plain is None:
            self._plain = _plain_insert(statement)
        if not 1 < len(rows) <= MANY_ROWS or not self._plain:
            return None
        assert isinstance(statement, Insert)
        many = self._many.get(len(rows))
        if many is None:
            table = statement.table
            names = [f"{c}__{k}" for k in range(len(rows)) for c in self.columns]
            values = [
                {c: bindparam(f"{c}__{k}", type_=table.c[c].type) for c in self.columns}
                for k in range(len(rows))
            ]
            many = self._many[len(rows)] = Prebuilt(insert(table).values(values), names)
        flat = {f"{c}__{k}": row[c] for k, row in enumerate(rows) for c in self.columns}
        return many.bound(dialect, flat)

    def _run(
        self, connection: Connection, parameters: Mapping[str, Any] | Sequence[Mapping[str, Any]]
    ) -> DBAPICursor:
        compiled = self._compiled(connection.dialect)
        if isinstance(parameters, Mapping):
            rows, row = None, self._row(compiled, parameters)
        else:
            rows, row = [self._row(compiled, p) for p in parameters], None
        dbapi = connection.connection.dbapi_connection
        assert dbapi is not None
        cursor = dbapi.cursor()
        try:
            if rows is not None:
                cursor.executemany(compiled.sql, rows)
            else:
                cursor.execute(compiled.sql, row)
        except connection.dialect.loaded_dbapi.Error as exc:
            cursor.close()
            raise DBAPIError.instance(
                compiled.sql,
                rows if rows is not None else row,
                exc,
                connection.dialect.loaded_dbapi.Error,
                dialect=connection.dialect,
            ) from exc
        return cursor

    def rows(self, connection: Connection, parameters: Mapping[str, Any]) -> list[dict[str, Any]]:
        """A SELECT's rows (or those an UPDATE returns), each a dict by column name, its
        values as ``Connection.execute`` returns them (the column types' result processors)."""
        if _observed(connection):
            return [dict(r) for r in connection.execute(self.statement, parameters).mappings()]
        cursor = self._run(connection, parameters)
        try:
            fetched = cursor.fetchall()
        finally:
            cursor.close()
        return self.processed(connection.dialect, fetched)

    def processed(self, dialect: Dialect, fetched: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
        """The driver's rows of this statement as ``rows`` returns them."""
        results = self._compiled(dialect).results
        return [
            {
                name: value if process is None else process(value)
                for (name, process), value in zip(results, row, strict=True)
            }
            for row in fetched
        ]

    @staticmethod
    def _row(compiled: _Compiled, values: Mapping[str, Any]) -> Any:
        processors = compiled.processors
        if compiled.ordered is None:
            return {
                name: processors[name](value) if name in processors else value
                for name, value in values.items()
            }
        return [
            values[name] if process is None else process(values[name])
            for name, process in compiled.ordered
        ]


class BySize:
    """A statement whose SQL depends only on how many values it lists (``IN (...)``, one
    ``CASE`` branch per line): one ``Prebuilt`` per count (or per counts, for a statement
    with several lists), built by ``build(*counts)``, each count up to ``most``; a larger or
    empty one gets None (the caller runs its expanding statement instead)."""

    def __init__(self, build: Callable[..., Prebuilt], most: int = 32):
        self.build = build
        self.most = most
        self._built: dict[tuple[int, ...], Prebuilt] = {}

    def get(self, *sizes: int) -> Prebuilt | None:
        if any(size < 1 or size > self.most for size in sizes):
            return None
        found = self._built.get(sizes)
        if found is None:
            found = self._built[sizes] = self.build(*sizes)
        return found
