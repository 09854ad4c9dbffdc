"""`intentcrop serve`: the HTTP service."""

from __future__ import annotations

import sys

from intentcrop.serve.app import BODY_TIMEOUT, MAX_CONCURRENT, MAX_QUEUE, REQUEST_TIMEOUT

KEEP_ALIVE = 5  # seconds an idle keep-alive connection stays open (uvicorn's timeout_keep_alive)
LIMIT_CONNECTIONS = 64  # open connections at once; more get uvicorn's 503 (uvicorn's limit_concurrency)


def _positive(kind):
    def parse(text: str):
        value = kind(text)
        if not value > 0:
            raise ValueError(text)
        return value

    parse.__name__ = f"positive {kind.__name__}"
    return parse


def add_parser(subparsers):
    p = subparsers.add_parser("serve", help="run the HTTP service (POST /crop, GET /health)",
                              description="Serve intentcrop over HTTP. Needs: pip install 'intentcrop[serve]'.")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--max-upload-mb", type=_positive(float), default=50,
                   help="largest accepted upload; a larger one is refused with 413 as it arrives (default 50 MB)")
    p.add_argument("--max-concurrent", type=_positive(int), default=MAX_CONCURRENT,
                   help=f"crops run at once (default {MAX_CONCURRENT}; about the number of cores)")
    p.add_argument("--max-queue", type=int, default=MAX_QUEUE,
                   help=f"requests that may wait for a crop slot; one more gets 503 + Retry-After (default {MAX_QUEUE})")
    p.add_argument("--body-timeout", type=_positive(float), default=BODY_TIMEOUT,
                   help=f"seconds for a request's body to arrive, else 408 (default {BODY_TIMEOUT:g})")
    p.add_argument("--request-timeout", type=_positive(float), default=REQUEST_TIMEOUT,
                   help=f"seconds one crop may run, else 504 (default {REQUEST_TIMEOUT:g})")
    p.add_argument("--keep-alive", type=_positive(int), default=KEEP_ALIVE,
                   help=f"seconds an idle connection stays open (default {KEEP_ALIVE})")
    p.add_argument("--limit-connections", type=_positive(int), default=LIMIT_CONNECTIONS,
                   help=f"open connections at once, more get 503 (default {LIMIT_CONNECTIONS})")
    p.set_defaults(run=run)
    return p


def build_app(args):
    from intentcrop.serve.app import create_app

    return create_app(max_upload_bytes=int(args.max_upload_mb * 1024 * 1024), max_concurrent=args.max_concurrent,
                      max_queue=args.max_queue, body_timeout=args.body_timeout, request_timeout=args.request_timeout)


def run(args) -> int:
    try:
        import uvicorn

        from intentcrop.serve.app import create_app  # noqa: F401
    except ImportError as exc:
        print(f"intentcrop serve: error: {exc.name} is not installed; pip install 'intentcrop[serve]'", file=sys.stderr)
        return 2
    if args.max_queue < 0:
        print(f"intentcrop serve: error: --max-queue {args.max_queue}: give 0 or more", file=sys.stderr)
        return 2
    uvicorn.run(build_app(args), host=args.host, port=args.port, timeout_keep_alive=args.keep_alive,
                limit_concurrency=args.limit_connections)
    return 0
