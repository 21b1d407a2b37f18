"""The command line collects its sub-commands and survives a benchmark whose dependencies are missing."""

from __future__ import annotations

import sys

import pytest

from shems_optimizer.cli import main


def test_no_command_prints_help_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().err


def test_a_benchmark_with_missing_dependencies_does_not_break_other_commands(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A None entry in sys.modules makes the import raise ImportError, as a missing package would.
    monkeypatch.setitem(sys.modules, "shems_bench.ingest", None)
    with pytest.raises(SystemExit) as exc:
        main(["optimize", "--help"])
    assert exc.value.code == 0
    assert main(["bench", "ingest", "--json"]) == 1
    assert "bench ingest: unavailable here" in capsys.readouterr().err


def test_without_the_tools_a_benchmark_says_where_it_lives(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # An installed engine (the add-on's image) has no benchmarks: tools/ is not in the wheel.
    monkeypatch.setitem(sys.modules, "shems_bench", None)
    assert main(["bench", "optimizer", "--json", "--pulp", "--repeats", "1"]) == 1
    err = capsys.readouterr().err
    assert "bench optimizer: unavailable here: the benchmarks are development tools" in err
    assert "scripts/dev run shems-optimizer bench" in err


def test_unknown_arguments_are_still_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["demo", "--no-chart", "--surprise"])
    assert exc.value.code == 2
    assert "unrecognized arguments: --surprise" in capsys.readouterr().err
