"""CQL2 text filters (OGC API - Features Part 3) as SQL with bound values.

pygeofilter parses the text; this turns the simple comparisons (``=``, ``<>``, ``<``,
``<=``, ``>``, ``>=``, ``LIKE``, ``IN``, ``BETWEEN``, ``IS NULL``) joined by ``AND``, ``OR``
and ``NOT`` into a SQL condition. Property names must be queryables of the collection and
every value is a bind parameter, so a filter can name nothing else and inject nothing.
(pygeofilter reads ``a AND b OR c`` left to right, not AND first as CQL2 says: write the
parentheses.)
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pygeofilter import ast
from pygeofilter.parsers.cql2_text import parse

from gridsvc.common.errors import InvalidParameterError

COMPARISONS = {
    ast.Equal: "=",
    ast.NotEqual: "<>",
    ast.LessThan: "<",
    ast.LessEqual: "<=",
    ast.GreaterThan: ">",
    ast.GreaterEqual: ">=",
}
#: Longest filter text accepted.
MAX_FILTER_LENGTH = 4000


class _Translation:
    def __init__(self, queryables: dict[str, str]) -> None:
        self.queryables = queryables
        self.parameters: dict[str, Any] = {}

    def refuse(self, message: str) -> InvalidParameterError:
        return InvalidParameterError("filter", message)

    def value(self, literal: Any) -> str:
        if isinstance(literal, bool | int | float | str | date | datetime):
            name = f"q{len(self.parameters)}"
            self.parameters[name] = literal
            return f":{name}"
        raise self.refuse(
            f"only text, numbers, booleans and times can be compared, not {literal!r}"
        )

    def attribute(self, node: Any) -> str:
        if not isinstance(node, ast.Attribute):
            raise self.refuse(f"the left side of a comparison must be a property, not {node!r}")
        if node.name not in self.queryables:
            known = ", ".join(self.queryables)
            raise self.refuse(f"unknown property '{node.name}'; queryables: {known}")
        return f"src.{node.name}"

    def sql(self, node: Any) -> str:  # noqa: PLR0911 - one branch per operator
        if isinstance(node, ast.And | ast.Or):
            operator = "AND" if isinstance(node, ast.And) else "OR"
            return f"({self.sql(node.lhs)} {operator} {self.sql(node.rhs)})"
        if isinstance(node, ast.Not):
            return f"(NOT {self.sql(node.sub_node)})"
        if type(node) in COMPARISONS:
            left = self.attribute(node.lhs)
            return f"({left} {COMPARISONS[type(node)]} {self.value(node.rhs)})"
        if isinstance(node, ast.Like):
            negate = "NOT " if node.not_ else ""
            return f"({self.attribute(node.lhs)}::text {negate}LIKE {self.value(node.pattern)})"
        if isinstance(node, ast.In):
            values = ", ".join(self.value(v) for v in node.sub_nodes)
            negate = "NOT " if node.not_ else ""
            return f"({self.attribute(node.lhs)} {negate}IN ({values}))"
        if isinstance(node, ast.Between):
            negate = "NOT " if node.not_ else ""
            low, high = self.value(node.low), self.value(node.high)
            return f"({self.attribute(node.lhs)} {negate}BETWEEN {low} AND {high})"
        if isinstance(node, ast.IsNull):
            return f"({self.attribute(node.lhs)} IS {'NOT ' if node.not_ else ''}NULL)"
        if isinstance(node, ast.Include):
            return "TRUE"
        raise self.refuse(
            f"{type(node).__name__} is not supported: use comparisons, LIKE, IN, BETWEEN, "
            "IS NULL with AND, OR, NOT"
        )


def to_sql(text: str, queryables: dict[str, str]) -> tuple[str, dict[str, Any]]:
    """Return the SQL condition (on ``src.<property>``) of a CQL2 text filter and its values."""
    if len(text) > MAX_FILTER_LENGTH:
        raise InvalidParameterError("filter", f"is longer than {MAX_FILTER_LENGTH} characters")
    try:
        tree = parse(text)
    except Exception as error:  # noqa: BLE001 - lark raises many kinds
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise InvalidParameterError("filter", f"not CQL2 text: {first[:200]}") from None
    translation = _Translation(queryables)
    return translation.sql(tree), translation.parameters
