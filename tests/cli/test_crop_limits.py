"""`intentcrop crop`: bad arguments exit 2 with a message naming them; a subject box with negative coordinates is
a box (--subject -5,-5,600,600 as well as --subject=-5,-5,600,600), clipped to the image."""

from __future__ import annotations

import json

import pytest

from intentcrop.cli.main import _attach_values, main
from intentcrop.defaults import DEFAULTS


@pytest.mark.parametrize(
    "args, message",
    [
        (["--text", "the dog " + "x" * DEFAULTS.max_text_length], "max_text_length"),
        (["--text", "the dog", "--option", "max_text_length=3"], "max_text_length"),
        (["-k", str(DEFAULTS.max_k + 1)], "max_k"),
        (["-k", "3", "--option", "max_k=2"], "max_k"),
        (["--option", "k=9", "--option", "max_k=4"], "option k=9"),
        (["--size", "10000x1"], "outside the supported range"),
        (["--ratio", "10000:1"], "outside the supported range"),
        (["--size", "1" * 5000 + "x1"], "unknown output size"),
        (["--subject", "-5,-5,x,600"], "neither a box"),
        (["--max-scale", "nan"], "max_scale"),
        (["--option", "max_k=0"], "max_k"),
    ],
)
def test_bad_arguments_exit_2_naming_them(photo, args, message, capsys):
    assert main(["crop", str(photo), *args]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("flag", [["--subject", "-5,-5,200,200"], ["--subject=-5,-5,200,200"],
                                  ["--subject", "-5.5, -5 ,200,200.0"]])
def test_a_box_with_negative_coordinates_is_accepted_and_clipped(photo, flag, capsys):
    assert main(["crop", str(photo), *flag, "-k", "1", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["grounding"]["region"] == [0.0, 0.0, 200.0, 200.0]
    box = record["crops"][0]["box"]
    assert box["x1"] == 0 and box["y1"] == 0 and box["x2"] >= 200 and box["y2"] >= 200


def test_the_reported_box_is_accepted(photo, capsys):
    assert main(["crop", str(photo), "--subject", "-5,-5,600,600", "-k", "1", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    w, h = record["image"]["width"], record["image"]["height"]
    assert record["grounding"]["region"] == [0.0, 0.0, float(min(600, w)), float(min(600, h))]


def test_a_box_wholly_outside_the_image_is_a_clear_error(photo, capsys):
    assert main(["crop", str(photo), "--subject", "-50,-50,-5,-5"]) == 1
    assert "lies outside" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["crop", "a.jpg", "--subject", "-5,-5,6,6"], ["crop", "a.jpg", "--subject=-5,-5,6,6"]),
        (["crop", "a.jpg", "--subject", "5,5,6,6"], ["crop", "a.jpg", "--subject", "5,5,6,6"]),
        (["crop", "a.jpg", "--subject", "-k", "2"], ["crop", "a.jpg", "--subject", "-k", "2"]),  # an option
        (["crop", "a.jpg", "--subject", "-5,x"], ["crop", "a.jpg", "--subject=-5,x"]),  # no box: _parse_subject says
        (["crop", "--", "--subject", "-5,-5,6,6"], ["crop", "--", "--subject", "-5,-5,6,6"]),  # after --: files
    ],
)
def test_only_a_box_after_subject_is_attached(argv, expected):
    assert _attach_values(argv) == expected
