"""The audit log as a person reads it: dated, each event and its details in words, in the user's language."""

from __future__ import annotations

import datetime as dt
from typing import Any

from PySide6.QtCore import QCoreApplication


def event_text(event: str) -> str:
    """What an audit event code means, e.g. ``setting_changed`` -> "Setting changed"."""
    t = {
        "admin_pin": QCoreApplication.translate("Audit", "Admin PIN entered"),
        "admin_pin_changed": QCoreApplication.translate("Audit", "Admin PIN changed"),
        "auth_denied": QCoreApplication.translate("Audit", "API key refused for this action"),
        "auth_failed": QCoreApplication.translate("Audit", "Unknown API key"),
        "backup_written": QCoreApplication.translate("Audit", "Backup written"),
        "cluster_created": QCoreApplication.translate("Audit", "Cluster created"),
        "cluster_joined": QCoreApplication.translate("Audit", "Joined a cluster"),
        "cluster_member_removed": QCoreApplication.translate("Audit", "Cluster member removed"),
        "cluster_token_issued": QCoreApplication.translate("Audit", "Join token issued"),
        "consent_recorded": QCoreApplication.translate("Audit", "Consent recorded"),
        "enrol": QCoreApplication.translate("Audit", "Enrolled"),
        "identify": QCoreApplication.translate("Audit", "Sign-in (who is speaking)"),
        "verify": QCoreApplication.translate("Audit", "Sign-in (claimed id)"),
        "login_lockout": QCoreApplication.translate("Audit", "Locked out after failed attempts"),
        "meeting_label": QCoreApplication.translate("Audit", "Meeting labelled"),
        "replay_refused": QCoreApplication.translate("Audit", "Replayed recording refused"),
        "setting_changed": QCoreApplication.translate("Audit", "Setting changed"),
        "settings_saved": QCoreApplication.translate("Audit", "Settings saved"),
        "speaker_deleted": QCoreApplication.translate("Audit", "Speaker deleted"),
        "status_changed": QCoreApplication.translate("Audit", "Status changed"),
        "store_created": QCoreApplication.translate("Audit", "Store created"),
        "subject_exported": QCoreApplication.translate("Audit", "Personal data exported"),
        "threshold_changed": QCoreApplication.translate("Audit", "Threshold changed"),
        "threshold_saved": QCoreApplication.translate("Audit", "Threshold saved"),
    }
    return t.get(event, event.replace("_", " ").capitalize())


def _field_name(name: str) -> str:
    t = {
        "ok": QCoreApplication.translate("Audit", "correct"), "accepted": QCoreApplication.translate("Audit", "accepted"), "score": QCoreApplication.translate("Audit", "score"), "threshold": QCoreApplication.translate("Audit", "threshold"),
        "model_id": QCoreApplication.translate("Audit", "model"), "setting": QCoreApplication.translate("Audit", "setting"), "old": QCoreApplication.translate("Audit", "was"), "new": QCoreApplication.translate("Audit", "now"),
        "to": QCoreApplication.translate("Audit", "to"), "reason": QCoreApplication.translate("Audit", "reason"), "takes": QCoreApplication.translate("Audit", "takes"), "speech_s": QCoreApplication.translate("Audit", "speech (s)"),
        "lock_s": QCoreApplication.translate("Audit", "locked for (s)"), "client": QCoreApplication.translate("Audit", "from"), "locked_s": QCoreApplication.translate("Audit", "locked for (s)"),
    }
    return t.get(name, name.replace("_", " "))


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return QCoreApplication.translate("Audit", "yes") if value else QCoreApplication.translate("Audit", "no")
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def details_text(fields: dict[str, Any]) -> str:
    """The entry's details as "name: value" pairs (the subject has its own column)."""
    return "; ".join(f"{_field_name(k)}: {_value(v)}" for k, v in fields.items() if k != "speaker_id")


def when_text(ts: float) -> str:
    """Local date and time of an entry."""
    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")
