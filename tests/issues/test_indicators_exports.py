"""The indicators as CSV and xlsx, and the league table, against the JSON figures they share.

The scenario of cases is tests/issues/indicator_cases.py's (the ``cases`` fixture).
"""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest

from tests.issues.conftest import bearer
from tests.issues.indicator_cases import (
    ADMIN,
    NOVEMBER,
    URL,
)


def test_csv_has_a_bom_and_the_same_figures(client, cases) -> None:
    answer = client.get(f"{URL}?{NOVEMBER}&by=community", headers=ADMIN).json()
    response = client.get(f"{URL}?{NOVEMBER}&by=community&format=csv", headers=ADMIN)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith(b"\xef\xbb\xbf")
    table = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(table) == len(answer["rows"]) == 2
    for line, row in zip(table, answer["rows"], strict=True):
        assert (line["code"], line["name"]) == (row["code"], row["name"])
        for key, figure in row["indicators"].items():
            assert float(line[f"{key}_numerator"]) == figure["numerator"]
            assert float(line[f"{key}_denominator"]) == figure["denominator"]
            assert (line[key] or None) == (
                None if figure["value"] is None else str(figure["value"])
            )


def test_xlsx_reads_back(client, cases) -> None:
    answer = client.get(f"{URL}?{NOVEMBER}&by=category", headers=ADMIN).json()
    response = client.get(f"{URL}?{NOVEMBER}&by=category&format=xlsx", headers=ADMIN)
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    sheet = book["指标"]
    labels, keys, *lines = list(sheet.iter_rows(min_row=2, values_only=True))
    assert labels[:4] == ("期间起", "代码", "名称", "立案率")
    assert len(lines) == len(answer["rows"])
    for line, row in zip(lines, answer["rows"], strict=True):
        record = dict(zip(keys, line, strict=True))
        assert (record["code"], record["name"]) == (row["code"], row["name"])
        for key, figure in row["indicators"].items():
            assert record[key] == figure["value"]
            assert record[f"{key}_denominator"] == figure["denominator"]
    formulas = {line[1]: line[2] for line in book["说明"].iter_rows(values_only=True)}
    assert formulas["closing_rate"] == "结案数 / 应结案数"


def test_league_table_ranks_what_the_indicators_say(client, cases) -> None:
    from gridsvc.issues.indicators import league

    response = client.get(f"/api/v1/stats/league?{NOVEMBER}&by=department", headers=ADMIN)
    assert response.status_code == 200, response.text
    body = response.json()
    sheet = league.load_league()
    assert body["total_points"] == sheet.total_points and body["min_reports"] == sheet.min_reports
    year = client.get(f"{URL}?{NOVEMBER}&by=department&period=year", headers=ADMIN).json()
    figures = {row["code"]: row["indicators"] for row in year["rows"]}
    assert {row["code"] for row in body["rows"]} == set(figures)
    for row in body["rows"]:
        assert row["indicators"] == figures[row["code"]]
        earned = {
            w.indicator: w.points * (value if w.better == "higher" else 1 - value)
            for w in sheet.weights
            if (value := row["indicators"][w.indicator]["value"]) is not None
        }
        counted = sum(w.points for w in sheet.weights if w.indicator in earned)
        assert row["score"] == pytest.approx(sum(earned.values()) * 100 / counted, abs=0.02)
        assert row["ranked"] is (row["counts"]["reports"] >= sheet.min_reports)
    assert {row["ranked"] for row in body["rows"]} == {True, False}  # sanitation: 2 reports
    transport = bearer("department", "d", department="transport")
    assert client.get("/api/v1/stats/league", headers=transport).status_code == 403
