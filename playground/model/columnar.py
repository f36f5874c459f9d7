"""The compact columnar form of a trace (``format: "columnar"``): each list
of objects as one object of columns, about half the size of v1 on large
runs; ``expand_columnar`` turns it back into exactly the v1 form (see
docs/trace.md#the-compact-columnar-form).
"""

from __future__ import annotations

from operator import attrgetter
from typing import Any, Literal

from playground.model.trace import (
    URL_TASK_FIELDS,
    WAIT_SPARSE,
    Child,
    Connection,
    Event,
    Job,
    Output,
    Slice,
    TaskRecord,
    Trace,
    Wait,
)

COLUMNAR: Literal["columnar"] = "columnar"
TABLE_FIELDS: dict[str, tuple[str, ...]] = {
    "tasks": tuple(TaskRecord.__dataclass_fields__),
    "slices": tuple(Slice.__dataclass_fields__),
    "waits": tuple(Wait.__dataclass_fields__),
    "jobs": tuple(Job.__dataclass_fields__),
    "connections": tuple(Connection.__dataclass_fields__),
    "children": tuple(Child.__dataclass_fields__),
    "output": tuple(Output.__dataclass_fields__),
    "events": tuple(Event.__dataclass_fields__),
}
SPARSE_FIELDS: dict[str, tuple[str, ...]] = {"tasks": URL_TASK_FIELDS, "slices": ("line", "cut_off", "yield_line"),
                                             "waits": WAIT_SPARSE, "jobs": ("cut_off",),
                                             "connections": ("cut_off",),
                                             "children": ("cut_off",)}


def expand_columnar(data: dict[str, Any]) -> dict[str, Any]:
    """A columnar trace (``Trace.to_columnar``) as the v1 trace it stands for."""
    trace = {key: value for key, value in data.items() if key not in ("format", "sparse")}
    sparse = data.get("sparse", {})
    for table in TABLE_FIELDS:
        columns: dict[str, list[Any]] = data[table]
        count = max((len(values) for values in columns.values()), default=0)
        names = list(columns)
        omit = set(sparse.get(table, ()))
        items = []
        for index in range(count):
            item = {}
            for name in names:
                value = columns[name][index]
                if value is not None or name not in omit:
                    item[name] = value
            items.append(item)
        trace[table] = items
    return trace


def to_columnar(trace: Trace) -> dict[str, Any]:
    """The compact form (``format: "columnar"``): each list of objects
    becomes one object of columns, ``{field: [value per item]}``, which
``expand_columnar`` turns back into exactly ``to_json()``. A field
    listed in ``sparse`` is one v1 leaves out when null (a slice's
    ``line``, a task's URL-mode fields); a sparse column that is null
    throughout is left out."""
    data = dict(vars(trace))
    data["format"] = COLUMNAR
    data["sparse"] = {table: list(names) for table, names in SPARSE_FIELDS.items()}
    for table, names in TABLE_FIELDS.items():
        items = data[table]
        columns = {name: list(map(attrgetter(name), items)) for name in names}
        for name in SPARSE_FIELDS.get(table, ()):
            if all(value is None for value in columns[name]):
                del columns[name]
        data[table] = columns
    return data


