"""``gridsvc grids rebalance`` end to end on the fixture city's files: propose, map, apply."""

from __future__ import annotations

import re

from tests.city_cli import Cli


def test_propose_write_the_map_then_apply_the_reviewed_id(cli: Cli, city_files, tmp_path) -> None:
    cli.load_boundaries(city_files)
    cli.ok("import", "population", city_files.files["population"], "--no-refresh")
    page = tmp_path / "review" / "rebalance.html"
    shown = cli.ok(
        "grids", "rebalance", "--street", "150602001", "--households", "150-300",
        "--map", page, "--changes", tmp_path / "changes.csv",
    )  # fmt: skip
    proposal = re.search(r"--apply ([0-9a-f]{16})", shown.output).group(1)
    assert "grids before: 8" in shown.output
    assert page.exists() and (page.parent / "static").is_dir()
    assert (tmp_path / "changes.csv").read_text().startswith("old_code,new_code,")
    refused = cli("grids", "rebalance", "--street", "150602001", "--households", "150-300",
                  "--apply", "0" * 16, "--no-refresh")  # fmt: skip
    assert refused.exit_code == 1 and "not 0000000000000000" in refused.output
    applied = cli.ok("grids", "rebalance", "--street", "150602001", "--households", "150-300",
                     "--apply", proposal, "--no-refresh")  # fmt: skip
    assert "generation 2" in applied.output
    rows = cli.rows(
        "SELECT generation, valid_to IS NULL, count(*) FROM grids GROUP BY 1, 2 ORDER BY 1, 2"
    )
    new_in_street = cli.scalar(
        "SELECT count(*) FROM grids WHERE valid_to IS NULL AND code LIKE '150602001%'"
    )
    # Every grid of the city was closed (history) and the next generation opened: the
    # street's grids are the proposal's, the other street's are carried over unchanged.
    assert rows == [(1, False, 16), (2, True, new_in_street + 8)]


def test_a_scope_and_a_band_are_needed(cli: Cli) -> None:
    assert "exactly one of" in cli("grids", "rebalance").output
    bad = cli("grids", "rebalance", "--district", "150602", "--households", "9-1")
    assert bad.exit_code == 1 and "LOW <= HIGH" in bad.output
