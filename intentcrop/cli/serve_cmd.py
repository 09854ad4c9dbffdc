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
    p = subparsers.add_parser("serve", help="run the HTTP service and its web page",
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
    models = p.add_argument_group("models and method")
    models.add_argument("--model", action="append", metavar="PATH|HUB_ID",
                        help="a model for the model-backed stages (as crop --model), loaded at start-up; repeat "
                        "for several, e.g. --model fixtures/world/owlvit --model fixtures/world/clip")
    models.add_argument("--method", help="the method for requests that name none (default: by intent)")
    models.add_argument("--device", help="cpu, cuda, cuda:1 or mps for the models (default: best available)")
    p.add_argument("--workers", type=_positive(int), default=1,
                   help="server processes (each loads the models once; default 1)")
    sources = p.add_argument_group("image sources")
    sources.add_argument("--image-root", metavar="DIR",
                         help="folder the GET /crop/WxH/smart/PATH and /meta/... forms read images from (off without)")
    sources.add_argument("--allow-url", action="append", metavar="HOST", default=[],
                         help="allow image URLs from HOST ('*.example.com' for sub-domains, '*' for any); repeatable. "
                         "URLs are off without it")
    sources.add_argument("--allow-network", action="append", metavar="CIDR", default=[],
                         help="let URLs reach this non-public network (e.g. 10.0.0.0/8); loopback, link-local and "
                         "private addresses are refused otherwise")
    sources.add_argument("--url-max-mb", type=_positive(float), default=20,
                         help="largest fetched image (default 20 MB)")
    sources.add_argument("--url-timeout", type=_positive(float), default=15,
                         help="seconds for a whole fetch, redirects included (default 15)")
    sources.add_argument("--url-ca", metavar="FILE",
                         help="PEM certificates to trust for https image URLs besides the system's (a private CA)")
    p.set_defaults(run=run)
    return p


def app_config(args) -> dict:
    """create_app's arguments from the command line (JSON-serialisable: --workers hands them to each process)."""
    url_policy = None
    if args.allow_url:
        url_policy = {"allow_hosts": list(args.allow_url), "allow_networks": list(args.allow_network),
                      "max_bytes": int(args.url_max_mb * 1024 * 1024), "total_timeout": args.url_timeout,
                      "timeout": min(5.0, args.url_timeout), "ca_file": args.url_ca}
    return dict(max_upload_bytes=int(args.max_upload_mb * 1024 * 1024), max_concurrent=args.max_concurrent,
                max_queue=args.max_queue, body_timeout=args.body_timeout, request_timeout=args.request_timeout,
                models=list(args.model or []), method=args.method, device=args.device,
                image_root=args.image_root, url_policy=url_policy)


def build_app(args, warm_up: bool = True):
    from intentcrop.serve.app import create_app
    from intentcrop.serve.fetch import UrlPolicy

    config = app_config(args)
    if config["url_policy"] is not None:
        config["url_policy"] = UrlPolicy(**config["url_policy"])
    return create_app(**config, warm_up=warm_up)


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
    try:
        # The arguments (method, image root, networks) are checked here, at once, whatever --workers.
        app = build_app(args, warm_up=args.workers == 1)
    except ValueError as exc:
        print(f"intentcrop serve: error: {exc}", file=sys.stderr)
        return 2
    common = dict(host=args.host, port=args.port, timeout_keep_alive=args.keep_alive,
                  limit_concurrency=args.limit_connections)
    if args.workers == 1:
        uvicorn.run(app, **common)
        return 0
    import json
    import os

    os.environ["INTENTCROP_SERVE_CONFIG"] = json.dumps(app_config(args))  # each worker builds its own app
    uvicorn.run("intentcrop.serve.app:app_from_environment", factory=True, workers=args.workers, **common)
    return 0
