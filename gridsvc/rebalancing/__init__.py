"""Rebalancing the grids of a scope: propose, review on a map, apply as a new generation.

It sits above the domains it uses: the grids it redraws, the import that writes them, the
issues it moves to their new grids, the coverage it refreshes and the map it draws.
"""
