"""`intentcrop eval` (intentcrop/cli/eval_cmd.py), driven through its own add_parser."""

import argparse
import json

import pytest

from intentcrop.cli import eval_cmd


def run_eval(argv):
    parser = argparse.ArgumentParser(prog="intentcrop")
    eval_cmd.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["eval", *argv])
    return args.run(args)


def test_fcdb_table_has_every_method(tiny_fcdb, capsys):
    assert run_eval(["fcdb", "--data", str(tiny_fcdb), "--method", "center", "--method", "whole"]) == 0
    out = capsys.readouterr().out
    assert "FCDB dev, 3 images, free-form" in out
    for word in ("IoU", "Disp", "recall@0.75", "images/s", "center", "whole"):
        assert word in out


def test_fcdb_json_and_limit(tiny_fcdb, capsys):
    assert run_eval(["fcdb", "--data", str(tiny_fcdb), "--method", "whole", "--limit", "2", "--ratio-aware",
                     "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n"] == 2 and result["protocol"] == "ratio-aware"
    assert [r["method"] for r in result["results"]] == ["whole"]


def test_baselines_join_the_chosen_method(tiny_fcdb, capsys):
    assert run_eval(["fcdb", "--data", str(tiny_fcdb), "--method", "whole", "--baselines", "--limit", "1",
                     "--json"]) == 0
    assert [r["method"] for r in json.loads(capsys.readouterr().out)["results"]] == ["whole", "center", "smartcrop"]


def test_predictions_file_is_protected(tiny_fcdb, tmp_path, capsys):
    out = tmp_path / "pred.jsonl"
    argv = ["fcdb", "--data", str(tiny_fcdb), "--method", "center", "--predictions", str(out)]
    assert run_eval(argv) == 0
    assert len(out.read_text().splitlines()) == 3
    capsys.readouterr()
    assert run_eval(argv) == 2
    assert "already exists" in capsys.readouterr().err
    assert run_eval([*argv, "--overwrite"]) == 0


@pytest.mark.parametrize(
    "argv, message",
    [
        (["fcdb", "--data", "{missing}"], "does not exist"),
        (["fcdb", "--data", "{fcdb}", "--split", "test"], "split 'test'"),
        (["fcdb", "--data", "{fcdb}", "--limit", "0"], "--limit"),
        (["gaicd", "--data", "{missing}"], "does not exist"),
        ([], "choose a benchmark"),
    ],
)
def test_errors_go_to_stderr_with_a_nonzero_code(tiny_fcdb, tmp_path, capsys, argv, message):
    argv = [a.format(missing=tmp_path / "missing", fcdb=tiny_fcdb) for a in argv]
    assert run_eval(argv) != 0
    captured = capsys.readouterr()
    assert message in captured.err and captured.out == ""


def test_a_failing_method_is_reported_and_the_others_still_run(tiny_fcdb, monkeypatch, capsys):
    from intentcrop.errors import IntentCropError
    from intentcrop.evaluation import croppers

    class Broken:
        name = "intentcrop"

        def __call__(self, path, ratio=None):
            raise IntentCropError("no scorer yet")

    monkeypatch.setitem(croppers.CROPPERS, "intentcrop", Broken)
    assert run_eval(["fcdb", "--data", str(tiny_fcdb), "--method", "intentcrop", "--method", "center"]) == 1
    captured = capsys.readouterr()
    assert "intentcrop failed on centre.jpg: no scorer yet" in captured.err
    assert "center" in captured.out


def test_gaicd_unknown_pipeline_is_an_error(gaicd_mini_dir, capsys):
    assert run_eval(["gaicd", "--data", str(gaicd_mini_dir), "--pipeline", "nope"]) == 1
    assert "unknown pipeline 'nope'" in capsys.readouterr().err


def test_gaicd_table(gaicd_mini_dir, monkeypatch, capsys):
    monkeypatch.setattr("intentcrop.evaluation.pipeline_scorer", lambda name, **kwargs: (lambda s: s.mos))
    assert run_eval(["gaicd", "--data", str(gaicd_mini_dir), "--limit", "2"]) == 0
    out = capsys.readouterr().out
    assert "GAICD, 2 images" in out and "acc/5" in out and "wacc/10" in out
    assert "SRCC 1.000" in out


def test_fcdb_candidates_protocol(tiny_fcdb_windows, capsys):
    assert run_eval(["fcdb", "--data", str(tiny_fcdb_windows), "--candidates", "--method", "intentcrop",
                     "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["protocol"] == "candidate windows" and result["results"][0]["n"] == 3


@pytest.mark.parametrize("argv, message", [
    (["--candidates", "--method", "center"], "center cannot rank candidate windows"),
    (["--candidates", "--ratio-aware"], "no --ratio-aware variant"),
])
def test_fcdb_candidates_errors(tiny_fcdb_windows, capsys, argv, message):
    assert run_eval(["fcdb", "--data", str(tiny_fcdb_windows), *argv]) != 0
    assert message in capsys.readouterr().err
