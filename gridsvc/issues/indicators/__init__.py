"""Supervision figures: indicators, league table, statistics, hotspots, whistles."""
