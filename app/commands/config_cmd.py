"""`vomid config show`: the effective settings and where each value came from."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from app.commands.common import add_json_option, emit
from app.settings import PROFILES, SettingOrigin, explain_settings, unknown_env_vars

KEY_SOURCES = """\
The store's master key (VOMID_MASTER_KEY_SOURCE, set before the store is created):
  file        default: a random key in DATA_DIR/master.key (mode 0600). A copied data directory
              holds the key beside the store: whoever has the copy can decrypt every voiceprint.
  keyring     a random key in the OS keyring (Secret Service, macOS Keychain, Windows Credential
              Manager), one entry per data directory. A copied data directory holds no key: the
              voiceprints stay encrypted unless the copier can also read this user's keyring.
  passphrase  the key is derived (scrypt) from VOMID_MASTER_KEY_PASSPHRASE (8 characters or more) and
              the store's salt; nothing is stored. A copied data directory holds no key, but an
              attacker can try passphrases offline against it: choose a long one. Lose it, lose the store.
Under every source a copied data directory shows, unencrypted: speaker ids, names and statuses,
enrolment times and quality figures, API key labels and scopes (secrets only hashed), the audit log
(decisions, scores, who and when), the logs, and the node's TLS key and cluster files (DATA_DIR/tls,
DATA_DIR/cluster), with which a copier can pose as this node. Voiceprints are always encrypted;
`vomid backup` archives are encrypted under the same master key.
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``config show``."""
    p = sub.add_parser(
        "config",
        help="show the effective settings and where each came from",
        description="Settings come from defaults, a YAML/JSON file (--config, VOMID_CONFIG, or "
        "DATA_DIR/config.yaml), a profile (VOMID_PROFILE), VOMID_* variables and flags, in "
        "that order of precedence. Secrets are shown as ****.",
        epilog=KEY_SOURCES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    csub = p.add_subparsers(dest="config_command", metavar="ACTION")
    show = csub.add_parser("show", help="print every setting, its value and its source")
    show.add_argument("--config", dest="config_file", type=Path, help="settings file (YAML or JSON)")
    show.add_argument("--profile", choices=sorted(PROFILES), help="development, test or production")
    show.add_argument("--data-dir", type=Path, help="where the store, keys and logs live")
    show.add_argument("--model", help="model id")
    show.add_argument("--model-dir", type=Path, help="local model weights")
    add_json_option(show)
    show.set_defaults(func=run_show)
    p.set_defaults(func=lambda args: (p.print_help(), 0)[1])


def _flags(args: argparse.Namespace) -> dict[str, Any]:
    names = ("config_file", "profile", "data_dir", "model", "model_dir")
    return {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}


def _text(origins: list[SettingOrigin], unknown: list[str]) -> str:
    rows = []
    for o in origins:
        value = json.dumps(o.as_dict()["value"], ensure_ascii=False)
        where = o.source if o.source in ("default", "flag") else f"{o.source} ({o.detail})"
        mark = "  [runtime]" if o.runtime else ""
        rows.append(f"{o.name:<24} {value:<34} {where}{mark}")
        for lower in o.as_dict()["overridden"]:
            shown = json.dumps(lower["value"], ensure_ascii=False)
            rows.append(f"{'':<24}   (overrides {lower['source']}: {shown})")
    rows.append("")
    rows.append(
        "[runtime] settings can change without a restart (admin screen or API); each change is audited."
    )
    rows.extend(f"warning: {name} names no setting and is ignored" for name in unknown)
    return "\n".join(rows)


def run_show(args: argparse.Namespace) -> int:
    """Print the effective settings with their sources."""
    settings, origins = explain_settings(**_flags(args))
    unknown = unknown_env_vars()
    data = {
        "settings": {o.name: o.as_dict() for o in origins},
        "unknown_env": unknown,
        "profile": settings.profile,
        "config_file": str(settings.config_file or "") or None,
    }
    emit(args, data, _text(origins, unknown))
    return 0
