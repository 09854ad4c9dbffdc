"""`intentcrop` command line: crop, eval, train, bench, serve, batch, index, world."""

from __future__ import annotations

import argparse
import importlib
import re
import sys

from intentcrop import __version__

# Each subcommand lives in its own module exposing add_parser(subparsers) and run(args) -> int; the command
# each module adds, so that only that module is imported to run it.
COMMAND_MODULES = {"crop": "crop_cmd", "eval": "eval_cmd", "train": "train_cmd", "bench": "bench_cmd",
                   "serve": "serve_cmd", "batch": "batch_cmd",
                   "index": "index_cmd", "world": "world_cmd"}
SUBCOMMANDS = list(COMMAND_MODULES.values())


def _modules_for(argv: list[str]) -> list[str] | None:
    """The subcommand modules a command line needs: its command's only, none for a bare --version, else all
    (help, errors). Building every subparser imports every command's module (the world's, the trainers')."""
    command = next((a for a in argv if not a.startswith("-")), None)
    if command is None:
        return [] if "--version" in argv and not {"-h", "--help"} & set(argv) else None
    return [COMMAND_MODULES[command]] if command in COMMAND_MODULES else None


def build_parser(modules: list[str] | None = None) -> argparse.ArgumentParser:
    """The command-line parser with the subcommands of `modules` (default: all of them)."""
    parser = argparse.ArgumentParser(
        prog="intentcrop",
        description="Crop images the way you mean them to be cropped: free-form, by text, by a query picture, "
        "around a subject, at exact aspect ratios or sizes.",
        epilog="Run 'intentcrop COMMAND --help' for a command's options. Example: "
        "intentcrop crop photo.jpg --ratio 16:9 --out crops/",
    )
    parser.add_argument("--version", action="version", version=f"intentcrop {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS if modules is None else modules:
        module = importlib.import_module(f"intentcrop.cli.{name}")
        before = set(subparsers.choices)
        module.add_parser(subparsers)
        for new in set(subparsers.choices) - before:  # modules may set their own run; default to module.run
            if subparsers.choices[new].get_default("run") is None:
                subparsers.choices[new].set_defaults(run=module.run)
    return parser


# Options whose value may start with '-' (a box partly left of or above the image: --subject -5,-5,600,600).
# argparse reads such a value as an option of its own; `_attach_values` joins a value that starts with '-' and a
# digit (no option does) to its flag as --subject=VALUE, which argparse reads as the value it is.
VALUE_MAY_START_WITH_DASH = {"--subject": re.compile(r"^-[\d.]")}


def _attach_values(argv: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(argv):
        pattern = VALUE_MAY_START_WITH_DASH.get(argv[i])
        if pattern is not None and i + 1 < len(argv) and pattern.match(argv[i + 1]):
            out.append(f"{argv[i]}={argv[i + 1]}")
            i += 2
            continue
        if argv[i] == "--":
            return out + argv[i:]
        out.append(argv[i])
        i += 1
    return out


def main(argv: list[str] | None = None) -> int:
    argv = _attach_values(sys.argv[1:] if argv is None else list(argv))
    parser = build_parser(_modules_for(argv))
    args = parser.parse_args(argv)
    if not getattr(args, "command", None) or not hasattr(args, "run"):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        print("intentcrop: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `intentcrop crop ... | head`: not an error of ours
        return 0


if __name__ == "__main__":
    sys.exit(main())
