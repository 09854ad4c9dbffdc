"""A model that cannot be had offline fails at once (no minutes of hub retries), and only once per process."""

from __future__ import annotations

import time

import pytest

from intentcrop.errors import ModelNotAvailableError
from intentcrop.models import clear_model_cache
from intentcrop.models import loading


@pytest.fixture(autouse=True)
def _fresh():
    clear_model_cache()
    yield
    clear_model_cache()


@pytest.fixture
def no_torch_needed(monkeypatch):
    """load_model's torch-facing steps stubbed: these tests are about the failure path, not the model."""
    monkeypatch.setattr(loading, "select_device", lambda device=None: "cpu")
    monkeypatch.setattr(loading, "select_dtype", lambda dtype, device: "float32")


@pytest.mark.parametrize("load", [loading.load_model, loading.load_vlm], ids=["load_model", "load_vlm"])
def test_a_failure_is_remembered_per_process(no_torch_needed, monkeypatch, load):
    calls = []

    def failing(spec, device, dtype, role=None):
        calls.append((spec.source, role))
        raise OSError("someone/not-a-model is not in the local cache")

    monkeypatch.setattr(loading, "_load_uncached", failing)
    for _ in range(3):
        start = time.perf_counter()
        with pytest.raises(ModelNotAvailableError, match="someone/not-a-model"):
            load("someone/not-a-model")
        assert time.perf_counter() - start < 1.0
    role = "generation" if load is loading.load_vlm else None
    assert calls == [("someone/not-a-model", role)]  # tried once, then remembered
    clear_model_cache()  # forgets it: a retry after the model was saved or the network came back
    with pytest.raises(ModelNotAvailableError):
        load("someone/not-a-model")
    assert len(calls) == 2


@pytest.mark.parametrize("offline", [True, False])
def test_local_only_when_offline_or_the_hub_is_unreachable(no_torch_needed, monkeypatch, offline):
    from intentcrop.models.registry import resolve_model_spec

    tries = []

    def loader(source, local_files_only=False, **kwargs):
        tries.append(local_files_only)
        if not local_files_only:
            time.sleep(5)  # what a hub download with retries would cost
        raise OSError(f"{source} is not in the local cache")

    if offline:
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    else:
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
        monkeypatch.setattr(loading, "hub_reachable", lambda timeout=None: False)
    spec = resolve_model_spec("someone/not-a-model", None)
    start = time.perf_counter()
    with pytest.raises(OSError, match="local cache" + ("" if offline else r".*unreachable")):
        loading._from_pretrained(spec, loader)
    assert time.perf_counter() - start < 1.0 and tries == [True]


def test_the_hub_is_used_when_it_answers(monkeypatch):
    from intentcrop.models.registry import resolve_model_spec

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setattr(loading, "hub_reachable", lambda timeout=None: True)
    tries = []

    def loader(source, local_files_only=False, **kwargs):
        tries.append(local_files_only)
        if local_files_only:
            raise OSError("not cached")
        return "downloaded"

    assert loading._from_pretrained(resolve_model_spec("someone/a-model", None), loader) == "downloaded"
    assert tries == [True, False]


def test_hub_probe_is_quick_and_asked_once(monkeypatch):
    import socket

    calls = []

    def unreachable(address, timeout=None):
        calls.append(address)
        raise OSError("Name or service not known")

    monkeypatch.setattr(socket, "create_connection", unreachable)
    monkeypatch.setenv("HF_ENDPOINT", "https://hub.invalid:8443")
    monkeypatch.delenv("HTTPS_PROXY", raising=False)
    monkeypatch.delenv("https_proxy", raising=False)
    start = time.perf_counter()
    assert loading.hub_reachable() is False and loading.hub_reachable() is False
    assert time.perf_counter() - start < 1.0 and calls == [("hub.invalid", 8443)]


def test_a_hung_name_lookup_is_not_waited_for(monkeypatch):
    import socket

    def hung(address, timeout=None):
        time.sleep(3)
        raise OSError("timed out")

    monkeypatch.setattr(socket, "create_connection", hung)
    start = time.perf_counter()
    assert loading.hub_reachable(timeout=0.2) is False
    assert time.perf_counter() - start < 1.0


def test_real_loader_offline_with_a_fake_hub_id(monkeypatch, tmp_path):
    pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty-hf-home"))
    calls = []
    real = transformers.AutoConfig.from_pretrained

    def counting(*args, **kwargs):
        calls.append(kwargs.get("local_files_only"))
        return real(*args, **kwargs)

    monkeypatch.setattr(transformers.AutoConfig, "from_pretrained", counting)
    for _ in range(2):
        start = time.perf_counter()
        with pytest.raises(ModelNotAvailableError, match="intentcrop-test/no-such-model"):
            loading.load_model("intentcrop-test/no-such-model")
        assert time.perf_counter() - start < 1.0
    assert calls == [True]  # the local cache only, and only the first time
