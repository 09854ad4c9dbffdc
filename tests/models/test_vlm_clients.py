"""The VLM clients (intentcrop.models.vlm) against a fake OpenAI-compatible server on 127.0.0.1, and the
in-process backend's clear errors."""

import base64
import io
import time

import pytest
from PIL import Image

from intentcrop.errors import IntentCropError, ModelNotAvailableError
from intentcrop.models.vlm import ENV_KEY, ENV_MODEL, ENV_URL, OpenAIChatClient, VLMError, data_url, to_messages

from fake_openai import FakeOpenAI

IMAGE = Image.new("RGB", (64, 32), (200, 30, 30))
PARTS = ["Localize the aesthetic part of the image.", IMAGE, "Output:"]


@pytest.fixture(autouse=True)
def _no_env(monkeypatch):
    for name in (ENV_URL, ENV_MODEL, ENV_KEY, "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)


def test_answer_and_request_format():
    with FakeOpenAI(answer="(0.5, 1, 1, 500, 500)") as server:
        client = OpenAIChatClient(server.url, "ok", timeout_s=5)
        assert client.complete(PARTS, max_tokens=32) == "(0.5, 1, 1, 500, 500)"
    body, = server.requests
    assert body["model"] == "ok" and body["max_tokens"] == 32
    content = body["messages"][0]["content"]
    assert [c["type"] for c in content] == ["text", "image_url", "text"]
    url = content[1]["image_url"]["url"]
    assert url.startswith("data:image/png;base64,")
    assert Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).size == (64, 32)


def test_url_model_and_key_from_the_environment(monkeypatch):
    with FakeOpenAI(key="sk-good") as server:
        monkeypatch.setenv(ENV_URL, server.url.removesuffix("/v1"))  # a bare host means its /v1
        monkeypatch.setenv(ENV_MODEL, "ok")
        monkeypatch.setenv("OPENAI_API_KEY", "sk-good")
        assert OpenAIChatClient().complete(PARTS).startswith("(0.90")


@pytest.mark.parametrize("kwargs,needle", [
    ({}, ENV_URL), ({"base_url": "http://127.0.0.1:9"}, ENV_MODEL),
    ({"base_url": "ftp://x", "model": "m"}, "http://"), ({"base_url": "http://h", "model": "m", "timeout_s": 0}, "timeout"),
])
def test_missing_settings_name_what_to_set(kwargs, needle):
    with pytest.raises(VLMError, match=needle):
        OpenAIChatClient(**kwargs)


def test_bad_key_is_a_clear_error_without_retries():
    with FakeOpenAI(key="sk-good") as server:
        with pytest.raises(VLMError, match="refused the key.*OPENAI_API_KEY"):
            OpenAIChatClient(server.url, "ok", api_key="sk-bad", retries=3).complete(PARTS)
    assert len(server.requests) == 1


@pytest.mark.parametrize("status", [503, 429])
def test_retries_with_backoff_then_succeeds(status):
    with FakeOpenAI(failures=2, failure_status=status) as server:
        client = OpenAIChatClient(server.url, "flaky", retries=2, backoff_s=0.01)
        assert client.complete(PARTS).startswith("(0.90")
    assert len(server.requests) == 3


def test_gives_up_after_the_retries():
    with FakeOpenAI(failures=10) as server:
        with pytest.raises(VLMError, match="HTTP 503.*after 2 attempt"):
            OpenAIChatClient(server.url, "flaky", retries=1, backoff_s=0.01).complete(PARTS)


def test_timeout():
    with FakeOpenAI(delay_s=1.5) as server:
        t0 = time.perf_counter()
        with pytest.raises(VLMError, match="no answer within 0.3 s"):
            OpenAIChatClient(server.url, "slow", timeout_s=0.3, retries=0).complete(PARTS)
        assert time.perf_counter() - t0 < 1.4


def test_no_server():
    with pytest.raises(VLMError, match="cannot connect"):
        OpenAIChatClient("http://127.0.0.1:9/v1", "ok", retries=0, timeout_s=1).complete(PARTS)


@pytest.mark.parametrize("model,needle", [("not-json", "not JSON"), ("no-choices", "without choices"),
                                          ("boom", "HTTP 400: image too large")])
def test_garbage_answers_are_clear_errors(model, needle):
    with FakeOpenAI() as server:
        with pytest.raises(VLMError, match=needle):
            OpenAIChatClient(server.url, model, retries=0).complete(PARTS)


def test_vlm_error_is_an_intentcrop_error():
    assert issubclass(VLMError, IntentCropError)


def test_messages_and_data_url():
    assert to_messages(["a", IMAGE])[0]["content"] == [{"type": "text", "text": "a"}, {"type": "image"}]
    with pytest.raises(VLMError, match="text or a PIL image"):
        to_messages([3])
    big = Image.new("RGB", (4000, 1000))
    url = data_url(big, max_side=400)
    assert Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).size == (400, 100)


def test_local_client_missing_folder_is_a_clear_error(tmp_path):
    pytest.importorskip("transformers")
    from intentcrop.models.vlm import LocalVLMClient

    with pytest.raises(ModelNotAvailableError, match="does not exist"):
        LocalVLMClient(tmp_path / "nothing")
    (tmp_path / "clipish").mkdir()
    (tmp_path / "clipish" / "config.json").write_text('{"model_type": "clip"}')
    with pytest.raises(ModelNotAvailableError, match="serves scoring, not generation"):
        LocalVLMClient(tmp_path / "clipish")
