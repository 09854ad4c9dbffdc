"""`intentcrop serve`: the HTTP service."""

from __future__ import annotations

import sys


def add_parser(subparsers):
    p = subparsers.add_parser("serve", help="run the HTTP service (POST /crop, GET /health)",
                              description="Serve intentcrop over HTTP. Needs: pip install 'intentcrop[serve]'.")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--max-upload-mb", type=float, default=50, help="largest accepted upload (default 50 MB)")
    p.set_defaults(run=run)
    return p


def run(args) -> int:
    try:
        import uvicorn

        from intentcrop.serve.app import create_app
    except ImportError as exc:
        print(f"intentcrop serve: error: {exc.name} is not installed; pip install 'intentcrop[serve]'", file=sys.stderr)
        return 2
    uvicorn.run(create_app(max_upload_bytes=int(args.max_upload_mb * 1024 * 1024)), host=args.host, port=args.port)
    return 0
