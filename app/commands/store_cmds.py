"""Store subcommands: backup, restore, audit verify, keys, speakers, export, and ``bench store``.

This module only parses arguments and prints; the work lives in ``engine.store``.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.commands.common import add_json_option, cli_actor, emit, json_to_stdout, text_stream
from engine.store import SCOPES, STATUSES, PassphraseProvider, VoiceprintStore
from engine.store.schema import DB_FILE_NAME

OpenStore = Callable[[argparse.Namespace], VoiceprintStore]
NEW_PASSPHRASE_ENV = "VOMID_NEW_STORE_PASSPHRASE"


def _common(p: argparse.ArgumentParser, *, json_flag: bool) -> None:
    p.add_argument(
        "--data-dir", type=Path, help="where the store and its key live (default: per-user data dir)"
    )
    if json_flag:
        add_json_option(p)


def _with_store(
    open_store: OpenStore, action: Callable[[argparse.Namespace, VoiceprintStore], int]
) -> Callable[[argparse.Namespace], int]:
    """Open the store, run the action, always close it; the action's return value is the exit code."""

    def run(args: argparse.Namespace) -> int:
        store = open_store(args)
        try:
            return action(args, store)
        finally:
            store.close()

    return run


def _confirmed(args: argparse.Namespace, question: str) -> bool:
    """--yes, or an interactive yes; refuses when there is no terminal to ask."""
    if getattr(args, "yes", False):
        return True
    if not sys.stdin.isatty():
        print(f"{question} Refusing without --yes (no terminal to ask).", file=sys.stderr)
        return False
    print(f"{question} [y/N] ", end="", file=text_stream(args), flush=True)  # not into a JSON on stdout
    return input().strip().lower() in ("y", "yes")


def add_store_commands(subparsers: argparse._SubParsersAction, open_store: OpenStore) -> None:
    """Register backup, restore, audit, keys, speakers and export on the ``vomid`` subparsers.

    Parameters
    ----------
    subparsers:
        The object ``ArgumentParser.add_subparsers()`` returned.
    open_store:
        Opens the store a parsed command names (its ``--data-dir`` and the settings).
    """
    p = subparsers.add_parser(
        "backup",
        help="write an encrypted backup of the store",
        description="Write an encrypted, integrity-checked archive of every speaker, "
        "voiceprint, API key and audit entry to FILE (mode 0600). Restoring it needs the "
        "same master key (key file, keyring entry or passphrase).",
    )
    p.add_argument("file", type=Path, help="archive to write (replaced atomically)")
    _common(p, json_flag=True)
    p.set_defaults(func=_with_store(open_store, _backup))

    p = subparsers.add_parser(
        "restore",
        help="replace the store's contents with a backup",
        description="Check FILE's integrity and replace the whole store with its contents "
        "in one transaction. A damaged or tampered archive is refused and the store is left "
        "as it was; into a folder that held no store, a restore that does not happen leaves "
        "nothing behind. Exit 0 restored, 1 cancelled (not confirmed), 2 refused (damaged, "
        "tampered, or made with a master key that is not here).",
    )
    p.add_argument("file", type=Path, help="archive written by `vomid backup`")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    _common(p, json_flag=True)
    p.set_defaults(func=_restoring(open_store))

    _add_audit(subparsers, open_store)
    _add_keys(subparsers, open_store)
    _add_speakers(subparsers, open_store)

    p = subparsers.add_parser(
        "export",
        help="export one speaker's data (subject access request)",
        description="Print everything the store holds about SPEAKER_ID as JSON: the speaker "
        "record, voiceprint metadata and audit entries. Embeddings are left out unless "
        "--include-embeddings is given (they are biometric data: handle the output with care).",
    )
    p.add_argument("speaker_id")
    p.add_argument("--include-embeddings", action="store_true", help="also include the decrypted embeddings")
    p.add_argument("--output", type=Path, help="write the JSON to this file (mode 0600) instead of stdout")
    _common(p, json_flag=False)
    p.set_defaults(func=_with_store(open_store, _export))


def _backup(args: argparse.Namespace, store: VoiceprintStore) -> int:
    header = store.backup(args.file)
    counts = header["counts"]
    emit(
        args,
        {"file": str(args.file), **header},
        f"backup written to {args.file}: {counts['speakers']} speakers, {counts['voiceprints']} voiceprints, "
        f"{counts['audit_log']} audit entries",
    )
    return 0


def _restoring(open_store: OpenStore) -> Callable[[argparse.Namespace], int]:
    """Open the store and restore into it; when this opening created the store (its folder held none) and the
    restore does not happen, everything the opening created goes again: no empty store, no unused master key."""

    def run(args: argparse.Namespace) -> int:
        folder = _sqlite_folder(args)
        before = {p.name for p in folder.iterdir()} if folder is not None and folder.is_dir() else None
        restored = False
        store = open_store(args)
        try:
            code = _restore(args, store)
            restored = code == 0
            return code
        finally:
            store.close()
            if not restored and folder is not None and DB_FILE_NAME not in (before or set()):
                _remove_created(folder, before)

    return run


def _sqlite_folder(args: argparse.Namespace) -> Path | None:
    """The data folder when the store is SQLite in it (the default), else None."""
    from app.commands.common import settings_from

    settings = settings_from(args)
    return settings.data_dir if settings.store_url is None else None


def _remove_created(folder: Path, before: set[str] | None) -> None:
    """Remove what appeared in ``folder`` since ``before`` (all of it, and the folder, when it did not exist)."""
    import shutil

    for entry in folder.iterdir() if folder.is_dir() else ():
        if before is not None and entry.name in before:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    if before is None and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()


def _restore(args: argparse.Namespace, store: VoiceprintStore) -> int:
    if not _confirmed(args, f"Replace every record in the store with {args.file}?"):
        return 1
    header = store.restore(args.file)
    emit(
        args,
        {"file": str(args.file), **header},
        f"restored {args.file} (made {header['created_at']:.0f} on node {header['node_id']})",
    )
    return 0


def _add_audit(subparsers: argparse._SubParsersAction, open_store: OpenStore) -> None:
    p = subparsers.add_parser(
        "audit", help="audit log commands", description="Inspect the tamper-evident audit log."
    )
    sub = p.add_subparsers(dest="audit_command", metavar="ACTION")
    v = sub.add_parser(
        "verify",
        help="check the audit chain",
        description="Check every audit entry's MAC and its link to the one before. "
        "Exit 0 when the chain is intact, 1 when an entry was edited, removed or cut off.",
    )
    _common(v, json_flag=True)
    v.set_defaults(func=_with_store(open_store, _audit_verify))
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _audit_verify(args: argparse.Namespace, store: VoiceprintStore) -> int:
    report = store.verify_audit_chain()
    data = {
        "ok": report.ok,
        "entries": report.entries,
        "problems": [{"seq": pr.seq, "reason": pr.reason} for pr in report.problems],
    }
    lines = [f"audit chain {'intact' if report.ok else 'BROKEN'}: {report.entries} entries checked"]
    lines += [f"  entry {pr.seq}: {pr.reason}" for pr in report.problems]
    emit(args, data, "\n".join(lines))
    return 0 if report.ok else 1


def _add_keys(subparsers: argparse._SubParsersAction, open_store: OpenStore) -> None:
    p = subparsers.add_parser(
        "keys",
        help="master key rotation and API keys",
        description="Rotate the store's master key; create, list and revoke API keys.",
    )
    sub = p.add_subparsers(dest="keys_command", metavar="ACTION")
    r = sub.add_parser(
        "rotate",
        help="re-wrap every data key under a new master key",
        description="Make a new master key in the configured source and re-wrap every data key "
        "with it (voiceprints are not re-encrypted). With a passphrase source the new passphrase "
        f"comes from ${NEW_PASSPHRASE_ENV} or is asked twice. Backups made before keep needing the "
        "old key.",
    )
    _common(r, json_flag=True)
    r.set_defaults(func=_with_store(open_store, _keys_rotate))
    c = sub.add_parser(
        "create",
        help="create an API key (printed once)",
        description="Create an API key with the given scopes. The key is printed once, alone on "
        "the last line, and only its hash is stored.",
    )
    c.add_argument(
        "--scope", action="append", choices=SCOPES, required=True, help="repeat for several scopes"
    )
    c.add_argument("--label", default="", help="what the key is for")
    _common(c, json_flag=True)
    c.set_defaults(func=_with_store(open_store, _keys_create))
    ls = sub.add_parser("list", help="list API keys (never their secrets)", description="List API keys.")
    ls.add_argument("--include-revoked", action="store_true")
    _common(ls, json_flag=True)
    ls.set_defaults(func=_with_store(open_store, _keys_list))
    rv = sub.add_parser(
        "revoke", help="revoke an API key", description="Revoke KEY_ID; exit 1 if it was not active."
    )
    rv.add_argument("key_id")
    _common(rv, json_flag=True)
    rv.set_defaults(func=_with_store(open_store, _keys_revoke))
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _new_passphrase() -> str:
    env = os.environ.get(NEW_PASSPHRASE_ENV)
    if env:
        return env
    first = getpass.getpass("new store passphrase: ")
    if first != getpass.getpass("again: "):
        raise SystemExit("passphrases differ; nothing changed")
    return first


def _keys_rotate(args: argparse.Namespace, store: VoiceprintStore) -> int:
    old = store.master_key_id
    if store.key_source_kind == "passphrase":
        new = store.rotate_master_key(PassphraseProvider(_new_passphrase()))
    else:
        new = store.rotate_master_key()
    emit(args, {"old_key_id": old, "new_key_id": new}, f"master key rotated: {old} -> {new}")
    return 0


def _keys_create(args: argparse.Namespace, store: VoiceprintStore) -> int:
    record, plaintext = store.create_api_key(args.label, args.scope)
    about = f"API key {record.key_id} ({', '.join(record.scopes)})"
    if json_to_stdout(args):  # the key goes out once, in the JSON; stderr may well be a log file
        text = f"{about} created; the key is in the JSON on stdout, shown once"
    else:
        text = f"{about}; shown once, store it now:\n{plaintext}"
    emit(args, {**record.as_dict(), "key": plaintext}, text, private=True)
    return 0


def _keys_list(args: argparse.Namespace, store: VoiceprintStore) -> int:
    keys = store.list_api_keys(include_revoked=args.include_revoked)
    text = "\n".join(
        f"{k.key_id}  {','.join(k.scopes):<20} {'revoked' if k.revoked_at else 'active':<8} {k.label}"
        for k in keys
    )
    emit(args, [k.as_dict() for k in keys], text or "no API keys")
    return 0


def _keys_revoke(args: argparse.Namespace, store: VoiceprintStore) -> int:
    done = store.revoke_api_key(args.key_id)
    emit(
        args,
        {"key_id": args.key_id, "revoked": done},
        f"{args.key_id} {'revoked' if done else 'was not active'}",
    )
    return 0 if done else 1


def _add_speakers(subparsers: argparse._SubParsersAction, open_store: OpenStore) -> None:
    p = subparsers.add_parser(
        "speakers",
        help="list, show, disable, enable or delete speakers",
        description="Manage enrolled speakers. Only active speakers are verified or identified.",
    )
    sub = p.add_subparsers(dest="speakers_command", metavar="ACTION")
    ls = sub.add_parser("list", help="list speakers", description="List speakers with their status.")
    ls.add_argument("--status", choices=STATUSES)
    ls.add_argument("--include-deleted", action="store_true", help="also list deletion tombstones")
    _common(ls, json_flag=True)
    ls.set_defaults(func=_with_store(open_store, _speakers_list))
    for name, help_text in (
        ("show", "show one speaker (exit 1 if unknown)"),
        ("disable", "stop verifying/identifying a speaker, keeping the voiceprint"),
        ("enable", "make a disabled or locked speaker active again"),
        ("delete", "delete a speaker and crypto-shred its voiceprints (irreversible)"),
    ):
        s = sub.add_parser(name, help=help_text, description=help_text[0].upper() + help_text[1:] + ".")
        s.add_argument("speaker_id")
        if name == "disable":
            s.add_argument("--reason", help="recorded in the audit log")
        if name == "delete":
            s.add_argument("--yes", action="store_true", help="do not ask for confirmation")
        _common(s, json_flag=True)
        s.set_defaults(func=_with_store(open_store, _SPEAKER_ACTIONS[name]))
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _speaker_line(rec: Any) -> str:
    state = "deleted" if rec.deleted else rec.status
    return f"{rec.speaker_id:<24} {state:<9} {rec.name or '':<24} {','.join(rec.models)}"


def _speakers_list(args: argparse.Namespace, store: VoiceprintStore) -> int:
    recs = store.list_speakers(status=args.status, include_deleted=args.include_deleted)
    emit(args, [r.as_dict() for r in recs], "\n".join(_speaker_line(r) for r in recs) or "no speakers")
    return 0


def _speakers_show(args: argparse.Namespace, store: VoiceprintStore) -> int:
    rec = store.speaker(args.speaker_id)
    if rec is None:
        print(f"no speaker {args.speaker_id}", file=sys.stderr)
        return 1
    emit(args, rec.as_dict(), "\n".join(f"{k}: {v}" for k, v in rec.as_dict().items()))
    return 0


def _set_status(status: str) -> Callable[[argparse.Namespace, VoiceprintStore], int]:
    def run(args: argparse.Namespace, store: VoiceprintStore) -> int:
        rec = store.set_status(args.speaker_id, status, actor=cli_actor(), reason=getattr(args, "reason", None))
        emit(args, rec.as_dict(), f"{rec.speaker_id} is now {rec.status}")
        return 0

    return run


def _speakers_delete(args: argparse.Namespace, store: VoiceprintStore) -> int:
    if not _confirmed(args, f"Delete {args.speaker_id} and destroy its voiceprints for good?"):
        return 1
    done = store.delete_speaker(args.speaker_id, actor=cli_actor())
    emit(
        args,
        {"speaker_id": args.speaker_id, "deleted": done},
        f"{args.speaker_id} deleted; its data key is destroyed" if done else f"no speaker {args.speaker_id}",
    )
    return 0 if done else 1


_SPEAKER_ACTIONS: dict[str, Callable[[argparse.Namespace, VoiceprintStore], int]] = {
    "show": _speakers_show,
    "disable": _set_status("disabled"),
    "enable": _set_status("active"),
    "delete": _speakers_delete,
}


def _export(args: argparse.Namespace, store: VoiceprintStore) -> int:
    data = store.export_subject(args.speaker_id, include_embeddings=args.include_embeddings)
    text = json.dumps(data, indent=2, default=str)
    if args.output:
        fd = os.open(args.output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
        print(f"export of {args.speaker_id} written to {args.output}")
    else:
        print(text)
    return 0


def add_bench_store(bench_subparsers: argparse._SubParsersAction) -> None:
    """Register ``bench store [--speakers N] [--json OUT]`` on the ``vomid bench`` subparsers."""
    p = bench_subparsers.add_parser(
        "store",
        help="time cold start, identify and enrolment on a throwaway store",
        description="Build a throwaway store of N synthetic speakers (192-d random "
        "embeddings, 3 takes each) and report medians: cold start (open, decrypt, "
        "build the index), identify over it, and one enrolment write.",
    )
    p.add_argument("--speakers", type=int, default=100_000, help="how many speakers (default 100000)")
    p.add_argument("--url", help="use this empty database URL instead of a temporary SQLite file")
    add_json_option(p)
    p.set_defaults(func=_bench_store)


def _bench_store(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from engine.store.bench import run_store_bench

    tqdm.monitor_interval = 0  # no background monitor thread: bars are refreshed by progress()

    bars: dict[str, Any] = {}

    def progress(step: str, done: int, total: int) -> None:
        bar = bars.get(step) or bars.setdefault(step, tqdm(total=total, desc=step, unit="", file=sys.stderr))
        bar.n = done
        bar.refresh()

    try:
        result = run_store_bench(args.speakers, progress, url=args.url)
    finally:
        for bar in bars.values():
            bar.close()
    emit(
        args,
        result,
        f"speakers {result['speakers']}: cold start {result['cold_start_s']:.2f} s, identify "
        f"{result['identify_ms']:.2f} ms, enrolment write {result['enrol_write_ms']:.2f} ms (medians)",
    )
    return 0
