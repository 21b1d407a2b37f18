"""Options that several sub-commands take, worded once."""

from __future__ import annotations

import argparse


def add_solver_argument(parser: argparse.ArgumentParser) -> None:
    """``--solver``: HiGHS through highspy by default, or any solver PuLP drives."""
    parser.add_argument(
        "--solver",
        default="highs",
        help="highs (default: HiGHS through highspy) or pulp:<name>, e.g. pulp:cbc, pulp:glpk, pulp:gurobi",
    )
