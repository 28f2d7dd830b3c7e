"""`make bench`'s table: each row leads with its ratio to its yardstick in the same run, and gives
the spread over the runs."""

from __future__ import annotations

from benchmarks.__main__ import PYSHACL, Timing, table_rows


def _run(pyshacl_per_second: float, engine_per_second: float) -> list[Timing]:
    return [
        Timing(PYSHACL, 10, 10 / pyshacl_per_second, [1.0]),
        Timing("engine", 100, 100 / engine_per_second, [0.1], "a note", PYSHACL),
    ]


def test_each_ratio_is_against_its_own_runs_yardstick() -> None:
    # The machine halved its speed in the second run: the ratio holds, the rate does not.
    rows = table_rows([_run(2, 8000), _run(1, 4000), _run(2, 6000)])
    assert rows[0].startswith(f"| yardstick | {PYSHACL} | 10 | 2 (1-2) |")
    assert rows[1].startswith("| 4,000x pyshacl (3,000x-4,000x) | engine | 100 | 6,000 (4,000-8,000) |")
    assert rows[1].endswith("| a note |")


def test_one_run_has_no_spread_and_a_row_without_its_yardstick_no_ratio() -> None:
    [row] = table_rows([[Timing("engine", 100, 1.0, [], "", PYSHACL)]])
    assert row.startswith("| - | engine | 100 | 100 (one run) | - | - | - |")
