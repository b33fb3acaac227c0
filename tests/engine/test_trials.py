"""Trial lists: the real lists parse completely, and bad lines are named in the error."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import TrialListError
from engine.trials import load_trials, parse_trials, unique_files


@pytest.mark.parametrize(
    ("name", "n_target", "n_non", "takes"),
    [("en", 225, 7250, 1), ("kiosk", 105, 280, 3), ("zh", 1443, 4329, None)],
)
def test_real_trial_lists_load_with_every_file_present(
    shared_data: Path, name: str, n_target: int, n_non: int, takes: int | None
) -> None:
    trials = load_trials(shared_data / "trials" / f"{name}.txt", shared_data)
    assert sum(t.label for t in trials) == n_target
    assert sum(1 - t.label for t in trials) == n_non
    if takes is not None:
        assert {len(t.enrol) for t in trials} == {takes}
    files = unique_files(trials)
    assert len(files) == len(set(files))


def test_multi_take_enrolment_is_split() -> None:
    (t,) = parse_trials("# header\n\n1 a.flac,b.flac,c.flac  t.flac\n")
    assert t == parse_trials("1 a.flac,b.flac,c.flac t.flac")[0].__class__(1, ("a.flac", "b.flac", "c.flac"), "t.flac", 3)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1 a b\n2 a b\n", "line 2: label must be 0 or 1"),
        ("1 a b\n0 a\n", "line 2: expected 'label enrol test'"),
        ("1 a,,b c\n", "line 1: empty file name"),
        ("\n# nothing\n", "no trials"),
    ],
)
def test_malformed_lines_are_named(text: str, message: str) -> None:
    with pytest.raises(TrialListError, match=message):
        parse_trials(text, source="my.txt")


def test_missing_file_names_the_line_and_the_file(shared_data: Path, tmp_path: Path) -> None:
    real = "verification/en/1688/1688-142285-0000.flac"
    lst = tmp_path / "list.txt"
    lst.write_text(f"1 {real} {real}\n0 {real} verification/en/1688/nope.flac\n")
    with pytest.raises(TrialListError, match=r"list.txt line 2: file not found: verification/en/1688/nope.flac"):
        load_trials(lst, shared_data)
    assert len(load_trials(lst, shared_data, check_files=False)) == 2


def test_unreadable_list_and_root_are_reported(tmp_path: Path) -> None:
    with pytest.raises(TrialListError, match="cannot read trial list"):
        load_trials(tmp_path / "absent.txt", tmp_path)
    lst = tmp_path / "list.txt"
    lst.write_text("1 a b\n")
    with pytest.raises(TrialListError, match="is not a folder"):
        load_trials(lst, tmp_path / "nowhere")
