"""CQL2 text filters (OGC API - Features Part 3) as SQL with bound values.

pygeofilter parses the text; this turns the simple comparisons (``=``, ``<>``, ``<``,
``<=``, ``>``, ``>=``, ``LIKE``, ``IN``, ``BETWEEN``, ``IS NULL``) joined by ``AND``, ``OR``
and ``NOT`` into a SQL condition. Property names must be queryables of the collection and
every value is a bind parameter, so a filter can name nothing else and inject nothing.
pygeofilter reads ``a OR b AND c`` left to right, not AND first as CQL2 says, so a filter
that mixes AND and OR without parentheses is refused (a 422 that says so) rather than
answered wrongly.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from pygeofilter import ast

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
#: Quoted text, parentheses and the words that join conditions (BETWEEN owns its AND).
TOKENS = re.compile(r"'(?:[^']|'')*'|\"[^\"]*\"|[()]|\b(?:AND|OR|BETWEEN)\b", re.IGNORECASE)


def check_grouping(text: str) -> None:
    """Refuse AND and OR side by side in one group: the parser would not put AND first."""
    groups: list[set[str]] = [set()]
    betweens = [0]
    for token in TOKENS.findall(text):
        word = token.upper()
        if token == "(":
            groups.append(set())
            betweens.append(0)
        elif token == ")" and len(groups) > 1:
            groups.pop()
            betweens.pop()
        elif word == "BETWEEN":
            betweens[-1] += 1
        elif word == "AND" and betweens[-1]:
            betweens[-1] -= 1  # BETWEEN low AND high
        elif word in ("AND", "OR"):
            groups[-1].add(word)
            if len(groups[-1]) == 2:
                raise InvalidParameterError(
                    "filter",
                    "AND and OR are mixed without parentheses: group them, "
                    "e.g. a = 1 OR (b = 2 AND c = 3)",
                )


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

    def sql(self, node: Any) -> str:  # one branch per operator
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
    check_grouping(text)
    # The grammar takes 0.3 s to build: on the first filter, not at every server or CLI start.
    from pygeofilter.parsers.cql2_text import parse

    try:
        tree = parse(text)
    except Exception as error:  # lark raises many kinds
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise InvalidParameterError("filter", f"not CQL2 text: {first[:200]}") from None
    translation = _Translation(queryables)
    return translation.sql(tree), translation.parameters
