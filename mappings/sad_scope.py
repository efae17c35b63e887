"""Where the SAD mapping's paths lead in one element (issue 14: the SOAP edge's speed).

A ``Scope`` walks once, when it is made, over the elements its paths go through (a ``Plan``:
the paths as a tree of element names, built once per set of paths), instead of a ``find``
per field and alternative. What it finds for a path is what ``findall`` gives.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from lxml import etree

from cites_connector.mappings.sad_paths import DeclarationPaths, ItemPaths
from cites_connector.mappings.sad_values import whole_text

Found = tuple[str, str]  # (path that matched, stripped text)


class _Step:
    """One step of a ``Plan``: the path that ends here (if any), the steps below it."""

    __slots__ = ("below", "path")

    def __init__(self) -> None:
        self.path: str | None = None
        self.below: dict[str, _Step] | None = None


class Plan:
    """The paths a scope reads, as a tree of element names (built once per set of paths)."""

    __slots__ = ("paths", "steps")

    def __init__(self, paths: Iterable[str]):
        self.paths = frozenset(paths)
        self.steps: dict[str, _Step] = {}
        for path in self.paths:
            level = self.steps
            names = path.split("/")
            for depth, name in enumerate(names, start=1):
                step = level.get(name)
                if step is None:
                    step = level[name] = _Step()
                if depth == len(names):
                    step.path = path
                else:
                    if step.below is None:
                        step.below = {}
                    level = step.below


@functools.lru_cache(maxsize=64)
def plan(paths: tuple[str, ...]) -> Plan:
    return Plan(paths)


def declaration_plan(paths: DeclarationPaths) -> Plan:
    return plan(
        (
            *paths.office,
            *paths.office_name,
            *paths.type,
            *paths.procedure,
            *paths.date,
            *paths.exporter_code,
            *paths.exporter_name,
            *paths.consignee_code,
            *paths.consignee_name,
            *paths.declarant_code,
            *paths.declarant_name,
            *paths.export_country,
            *paths.destination_country,
            paths.items,
        )
    )


def item_plan(paths: ItemPaths) -> Plan:
    return plan(
        (
            *paths.hs_code,
            *paths.hs_code_national,
            *paths.description,
            *paths.origin_country,
            *paths.net_mass,
            paths.supplementary_unit,
            paths.documents,
            *paths.licence_number,
        )
    )


class Scope:
    """The elements the mapping reads under one element (issue 14): one walk over the
    elements its paths go through (``Plan``), made when the scope is, instead of a ``find``
    per field and alternative.

    ``all(path)`` is what ``findall(path)`` gives (paths are element names and "/" only,
    ``sad_paths.PATH``): the elements the path names, in document order; a path's element is
    the first of them, as ``find`` gives it. Comments and processing instructions are passed
    over, as ``find`` does."""

    __slots__ = ("_found", "_plan")

    def __init__(self, element: etree._Element, plan: Plan):
        self._plan = plan
        self._found: dict[str, list[etree._Element]] = {}
        self._walk(element, plan.steps)

    def _walk(self, element: etree._Element, steps: dict[str, _Step]) -> None:
        found = self._found
        for child in element.iterchildren(etree.Element):  # no comment or PI
            step = steps.get(child.tag)
            if step is None:
                continue
            if step.path is not None:
                if step.path in found:
                    found[step.path].append(child)
                else:
                    found[step.path] = [child]
            if step.below is not None:
                self._walk(child, step.below)

    def all(self, path: str) -> list[etree._Element]:
        if path not in self._plan.paths:
            raise ValueError(f"{path} is not one of the paths this scope reads")
        return self._found.get(path, [])

    def first(self, paths: tuple[str, ...]) -> Found | None:
        """The first alternative path with a value; ``<null/>`` and blank text are absent;
        the value is the element's whole text content (``sad_values.whole_text``)."""
        found = self._found
        for path in paths:
            elements = found.get(path)
            if elements is None:
                if path not in self._plan.paths:
                    raise ValueError(f"{path} is not one of the paths this scope reads")
                continue
            element = elements[0]
            if len(element):
                text = whole_text(element, path)
            else:  # no child of any kind: its own text is the whole of it
                text = (element.text or "").strip() or None
            if text:
                return path, text
        return None
