"""红黑榜 arithmetic: weights from the file, small groups unranked, ties sharing a rank."""

from __future__ import annotations

import json
import random

import pytest

from gridsvc.issues.indicators import league
from gridsvc.issues.indicators.definitions import COUNTS, finish_row


def row(code: str, reports: int, on_time: int, due: int, reworked: int = 0) -> dict:
    counts = {count.key: 0 for count in COUNTS}
    counts.update(reports=reports, registered=reports, due=due, closed=on_time)
    counts.update(closed_on_time=on_time, reworked=reworked)
    return finish_row("2025-11-01", code, code.upper(), counts)


@pytest.fixture
def sheet(tmp_path) -> league.League:
    path = tmp_path / "league.json"
    weights = [
        {"indicator": "on_time_closing_rate", "points": 60, "better": "higher"},
        {"indicator": "rework_rate", "points": 10, "better": "lower"},
        {"indicator": "satisfaction_rate", "points": 30, "better": "higher"},
    ]
    path.write_text(json.dumps({"min_reports": 10, "list_length": 2, "weights": weights}))
    return league.read_league(path)


def expected_score(on_time: int, due: int, reworked: int) -> float:
    # Satisfaction has no ratings here: its 30 points are left out and the rest scaled to 100.
    earned = 60 * on_time / due + 10 * (1 - reworked / due)
    return round(earned * 100 / 70, 2)


def test_scores_ranks_ties_and_small_groups(sheet) -> None:
    rows = [
        row("a", 20, 18, 20, 2),
        row("b", 30, 27, 30, 3),  # the same rates as a: a tie
        row("c", 12, 6, 12, 6),
        row("d", 2, 2, 2),  # perfect, but two cases only
        row("e", 15, 12, 15),
        row("f", 40, 10, 40, 20),
    ]
    table = {r["code"]: r for r in league.rank(sheet, rows)}
    for code, (on_time, due, reworked) in {
        "a": (18, 20, 2), "c": (6, 12, 6), "e": (12, 15, 0), "f": (10, 40, 20),
    }.items():  # fmt: skip
        assert table[code]["score"] == pytest.approx(expected_score(on_time, due, reworked))
    assert table["a"]["score"] == table["b"]["score"]
    assert table["d"]["ranked"] is False and table["d"]["rank"] is None
    assert table["d"]["score"] > table["a"]["score"] and table["d"]["list"] is None
    ranks = {code: r["rank"] for code, r in table.items() if r["ranked"]}
    ordered = sorted(ranks, key=lambda code: -table[code]["score"])
    assert [ranks[code] for code in ordered] == [1, 1, 3, 4, 5]
    assert {c for c, r in table.items() if r["list"] == "red"} == {"a", "b"}
    assert {c for c, r in table.items() if r["list"] == "black"} == {"c", "f"}
    assert list(table)[-1] == "d"  # unranked rows last


def test_random_tables_keep_the_lists_apart(sheet) -> None:
    generator = random.Random(11)
    for _ in range(200):
        rows = []
        for number in range(generator.randint(0, 9)):
            due = generator.randint(1, 30)
            on_time = generator.randint(0, due)
            rows.append(row(f"g{number}", generator.randint(1, 40), on_time, due))
        table = league.rank(sheet, rows)
        ranked = [r for r in table if r["ranked"]]
        assert all(r["counts"]["reports"] >= 10 for r in ranked)
        assert [r["score"] for r in ranked] == sorted((r["score"] for r in ranked), reverse=True)
        red = [r for r in ranked if r["list"] == "red"]
        black = [r for r in ranked if r["list"] == "black"]
        if red and black:
            assert min(r["score"] for r in red) > max(r["score"] for r in black)
        for r in ranked:  # a rank is 1 + the number of strictly better groups
            assert r["rank"] == 1 + sum(o["score"] > r["score"] for o in ranked)


def test_a_bad_sheet_names_the_entry(tmp_path) -> None:
    path = tmp_path / "league.json"
    path.write_text(json.dumps({"min_reports": 1, "list_length": 1, "weights": [
        {"indicator": "happiness", "points": 1, "better": "higher"}]}))  # fmt: skip
    with pytest.raises(ValueError, match="happiness"):
        league.read_league(path)
    assert league.load_league().total_points == 100
