"""``mediasearch serve``: run the resident query service (mediasearch/serve.py) in the foreground."""

from __future__ import annotations

import argparse
import os
import signal
import sys

from mediasearch import cli_args
from mediasearch.errors import MediaSearchError


def cmd_serve(args: argparse.Namespace) -> int:
    from mediasearch.serve import QueryService, find_service

    settings = args.settings
    running = find_service(settings, timeout_s=2.0)
    if running is not None:
        raise MediaSearchError(f"a service already answers for this library at {running.record.get('url')} (pid {running.pid})")
    service = QueryService(settings, host=args.host, port=args.port, workers=args.workers)
    warm = service.warm()
    service.open()

    def stop(signum, frame):  # noqa: ANN001
        service.stop()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, stop)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: listening on {args.host}: other machines can reach it (the token is still required)", file=sys.stderr)
    print(f"serving {settings.library_dir} at {service.url} (pid {os.getpid()}; encoders loaded: {', '.join(warm) or 'none'})")
    print(f"token: in {service.file} (readable by you only); send it as `Authorization: Bearer TOKEN`")
    print("`mediasearch search` uses this service while it runs; stop it with Ctrl-C or POST /shutdown", flush=True)
    service.run()
    print("stopped", flush=True)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="keep models loaded and answer searches over local HTTP (search uses it when it runs)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=cli_args.int_range(0, 65535), default=0, help="port (default 0: any free one; serve.json says which)")
    p.add_argument("--workers", type=cli_args.int_range(1, 64), default=2, help="threads answering queries, each with its own read-only library view (default 2)")
    p.add_argument("--precision", choices=["auto", "fp32", "bf16", "fp16"], help="numeric path of the torch encoders (default auto)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"], help="where the torch encoders run (default auto)")
    p.set_defaults(func=cmd_serve)
