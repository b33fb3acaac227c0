"""The bundle's self-test logic passes from source with the offline model (the build runs it frozen)."""

from __future__ import annotations

from app.selftest import format_report, run_self_test


def test_self_test_round_trip_with_the_offline_model() -> None:
    report = run_self_test(model_id="ge2e", qt=True)
    steps = {s["step"]: s for s in report["steps"]}
    assert report["ok"], format_report(report)
    assert list(steps) == ["model", "decode", "vad", "embed", "store", "verify", "qt"]
    assert steps["model"]["model"] == "ge2e" and steps["embed"]["dim"] == 256
    assert steps["store"]["speakers"] == 2 and steps["store"]["audit_chain_ok"] is True
    assert steps["verify"]["same_voice"] > steps["verify"]["other_voice"]
    assert steps["qt"]["platform"] == "offscreen"
    assert "self-test passed" in format_report(report)
