"""`vomid serve`: run the HTTP node headless in the foreground until SIGTERM, then stop cleanly."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from app.settings import Settings, load_settings

if TYPE_CHECKING:
    from peer.node import Node

log = logging.getLogger(__name__)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the serve command."""
    p = sub.add_parser(
        "serve", help="run the HTTP node headless until SIGTERM",
        description="Serve the REST API (/api/v1, OpenAPI at /api/v1/openapi.json) over the local store. "
        "HTTPS with a certificate generated on first start; its SHA-256 fingerprint is printed for clients "
        "to pin. The model loads in the background: /health answers at once, /ready once it is loaded. "
        "Create API keys with `vomid keys create --scope enrol|verify|admin`.")
    p.add_argument("--host", help="address to listen on (default: setting node_host, 0.0.0.0)")
    p.add_argument("--port", type=int, help="port (default: setting node_port, 8443; 0 picks a free one)")
    p.add_argument("--data-dir", type=Path, help="where the store, keys and certificate live")
    p.add_argument("--model", help="model id: campplus (default), eres2netv2, ge2e (offline)")
    p.add_argument("--model-dir", type=Path, help="local directory or checkpoint file with the model weights")
    p.add_argument("--no-tls", action="store_true", help="plain HTTP (accepted only with a loopback --host)")
    p.add_argument("--offload-only", action="store_true",
                   help="load no model here; in a cluster, peers running the model compute the embeddings")
    p.set_defaults(func=run)


def node_settings(args: argparse.Namespace) -> Settings:
    """Settings with the command's flags on top."""
    port = args.port if args.port else None  # 0 (any free port) is a flag, not a setting
    return load_settings(model=args.model, data_dir=args.data_dir, model_dir=args.model_dir, node_host=args.host,
                         node_port=port, node_tls=False if args.no_tls else None)


def load_engine_into(node: Node, settings: Settings) -> None:
    """Load the configured model and hand the node a batching engine; on failure the node stays not ready."""
    from app.wiring import engine_config
    from engine.errors import ModelError
    from engine.models import load_model
    from peer.node import batched_engine

    config = engine_config(settings)  # the calibrated thresholds, as the kiosk and the CLI use them
    try:
        model = load_model(config.model)
    except ModelError as exc:
        log.error("model %s could not be loaded (%s); the node answers 503 model_not_loaded. "
                  "The offline model needs no download: --model ge2e", config.model.model_id, exc)
        return
    node.set_engine(batched_engine(config, model, node.store))
    log.warning("model %s loaded; the node is ready", config.model.model_id)


def run(args: argparse.Namespace) -> int:
    """Serve until SIGTERM or SIGINT; exit 0 after a clean stop."""
    # Signals are caught from the very start: a SIGTERM while the node starts up (systemctl stop, docker stop)
    # must stop it cleanly, not kill it with exit 143.
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        return _serve(args, stop)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _serve(args: argparse.Namespace, stop: threading.Event) -> int:
    """Open the store, start the node (and the cluster layer), serve until ``stop`` is set."""
    from app.node_runtime import NodeRuntime
    from app.wiring import open_store

    settings = node_settings(args)
    store = open_store(settings)
    try:
        runtime = NodeRuntime(settings, store, port=0 if args.port == 0 else settings.node_port).start()
        if runtime.server is None:
            print(f"could not serve: {runtime.fault}", file=sys.stderr, flush=True)
            runtime.stop()
            return 1
        fingerprint = runtime.server.endpoint.fingerprint
        print(f"serving on {runtime.url}" + (f" (certificate sha256 {fingerprint})" if fingerprint else ""),
              flush=True)
        loader = threading.Thread(target=load_engine_into, args=(runtime.node, settings),
                                  name="vomid-model-loader", daemon=True)
        if not getattr(args, "offload_only", False):
            loader.start()
        try:
            while not stop.wait(0.5):
                if runtime.server is None or not runtime.server.running:
                    break
        finally:
            runtime.stop()
        if loader.ident is not None:
            loader.join(60)
    finally:
        store.close()
    print("stopped", flush=True)
    return 0
