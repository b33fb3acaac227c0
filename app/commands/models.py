"""`vomid models`: the registry and whether each model's weights are on this machine."""

from __future__ import annotations

import argparse

from app.commands.common import add_common, emit, settings_from


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the models command."""
    p = sub.add_parser("models", help="list registered models and whether they can load here",
                       description="List the model registry: id, source, pinned revision, size, and "
                       "whether the weights are available offline on this machine.")
    add_common(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the registry with availability."""
    from engine.errors import ModelError
    from engine.models import load_model
    from engine.models.registry import MODELS

    settings = settings_from(args)
    rows = []
    for model_id, spec in MODELS.items():
        cfg = settings.engine_config(model_id=model_id).model
        cfg = type(cfg)(**{**cfg.__dict__, "allow_download": False})
        try:
            load_model(cfg)
            status = "available"
        except ModelError as exc:
            status = f"not available: {exc.message.splitlines()[0]}"
        rows.append({"id": model_id, "source": spec.source, "repo": spec.repo_id, "revision": spec.revision,
                     "dim": spec.dim, "status": status})
    text = "\n".join(f"{r['id']:<11} {r['dim']:>4}-d  {r['source']:<10} {r['repo'] or '-'}@{r['revision'] or '-'}  {r['status']}"
                     for r in rows)
    emit(args, {"models": rows}, text)
    return 0
