"""Start `transformers serve` on 127.0.0.1 for a local model folder (benchmarks, tests, trying a model out).

    with transformers_serve("fixtures/world/vlm") as url:   # http://127.0.0.1:PORT/v1
        OpenAIChatClient(url, model="fixtures/world/vlm").complete([...])

Offline (HF_HUB_OFFLINE=1): the server reads only the folder. Needs transformers' serving extra (fastapi,
uvicorn, openai, accelerate): `pip install 'intentcrop[cropper]'`. A server that does not answer /health within
`startup_s` is stopped and a VLMError says why, with the end of its log.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator

from intentcrop.models.vlm import VLMError


def serving_available() -> "str | None":
    """None when `transformers serve` can run here, else what is missing."""
    try:
        from transformers.utils.import_utils import is_serve_available
    except ImportError:
        return "transformers is not installed"
    if not is_serve_available():
        return "transformers' serving extra is not installed (pip install 'intentcrop[cropper]')"
    try:
        import accelerate  # noqa: F401 - the server loads with a device_map
    except ImportError:
        return "accelerate is not installed (pip install 'intentcrop[cropper]')"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def transformers_serve(folder: "str | os.PathLike", startup_s: float = 180.0, threads: int = 1) -> Iterator[str]:
    missing = serving_available()
    if missing:
        raise VLMError(f"cannot start transformers serve: {missing}")
    folder = str(Path(folder).resolve())
    port = free_port()
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", OMP_NUM_THREADS=str(threads))
    exe = shutil.which("transformers") or str(Path(sys.executable).with_name("transformers"))
    log = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)
    proc = subprocess.Popen([exe, "serve", folder, "--host", "127.0.0.1", "--port", str(port), "--device", "cpu",
                             "--log-level", "warning"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        import httpx

        deadline = time.monotonic() + startup_s
        while True:
            if proc.poll() is not None:
                raise VLMError(f"transformers serve {folder} exited ({proc.returncode}): {_tail(log.name)}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise VLMError(f"transformers serve {folder} did not answer within {startup_s:g} s: {_tail(log.name)}")
            time.sleep(0.5)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        with contextlib.suppress(OSError):
            os.unlink(log.name)


def _tail(path: str, chars: int = 600) -> str:
    try:
        return " ".join(Path(path).read_text(errors="replace")[-chars:].split())
    except OSError:
        return "no log"
