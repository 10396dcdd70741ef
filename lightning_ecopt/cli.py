"""The ``ecopt`` command line: ``ecopt report <sweep dir>``.

Bad input (a missing directory, a directory without a sweep, a corrupt results file, an invalid option or command
line) prints one error line to stderr and exits with status 2, never a traceback.

Example::

    ecopt report multirun/2026-01-01/12-00-00
    ecopt report multirun/2026-01-01/12-00-00 --pue 1.56 --carbon-intensity 250 --baseline first
    ecopt report multirun/2026-01-01/12-00-00 --json | jq .ledger.total_j
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from lightning_ecopt.exceptions import EcoptError

__all__ = ["build_parser", "main"]

EXIT_BAD_INPUT = 2
"""Exit status for bad input (as argparse uses for a bad command line)."""


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one ``error:`` line (as every other bad input), not the usage."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"error: {self.prog}: {message}; see '{self.prog} --help'.\n")


def _baseline(text: str) -> str | int:
    from lightning_ecopt.ledger import BASELINE_RULES, parse_baseline

    baseline = parse_baseline(text)
    if isinstance(baseline, int) or baseline in BASELINE_RULES:
        return baseline
    raise argparse.ArgumentTypeError(f"{text!r} is neither a trial index nor one of {', '.join(BASELINE_RULES)}")


def _folder(text: str) -> str:
    """A folder argument; an empty one (an unset variable in ``--out "$DIR"``) is refused, not read as ``.``."""
    if not text:
        raise argparse.ArgumentTypeError("'' is empty; name a folder ('.' for the current one)")
    return text


def build_parser() -> argparse.ArgumentParser:
    """The ``ecopt`` argument parser (one subcommand: ``report``)."""
    from lightning_ecopt import __version__
    from lightning_ecopt.ledger import (
        _MAX_CARBON_G_PER_KWH,
        _MAX_PUE,
        DEFAULT_CARBON_G_PER_KWH,
        DEFAULT_PUE,
        GLOBAL_AVERAGE_PUE,
    )
    from lightning_ecopt.provenance import PACKAGES, package_versions

    parser = _Parser(
        prog="ecopt",
        description="Energy-aware multi-objective sweeps for PyTorch Lightning + Hydra.",
        formatter_class=argparse.RawDescriptionHelpFormatter,  # the version's lines as written, not refilled
    )
    # The stack's versions with ours: what a bug report needs (read from the installed metadata, nothing imported)
    stack = ", ".join(f"{name} {version}" for name, version in package_versions(PACKAGES).items())
    parser.add_argument("--version", action="version", version=f"ecopt (lightning_ecopt) {__version__}\n{stack}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)
    report = commands.add_parser(
        "report",
        help="the frontier, proxy audit and search-cost ledger of a sweep",
        description=(
            "Print a sweep's Pareto frontier, the proxy audit (parameter count and FLOPs against energy per "
            "inference) and the search-cost ledger (energy, CO2, break-even), and write frontier.png and trials.csv "
            "next to its optimization_results.yaml. Works on a sweep that is still running or was interrupted."
        ),
    )
    report.add_argument("sweep_dir", metavar="SWEEP_DIR", type=_folder, help="the sweep directory (hydra.sweep.dir)")
    report.add_argument(
        "--pue",
        type=float,
        default=DEFAULT_PUE,
        help=(
            "power usage effectiveness applied to the ledger's joules: search energy, energy per inference, CO2 "
            f"(1 to {_MAX_PUE:g}; default {DEFAULT_PUE:g}: IT equipment only; {GLOBAL_AVERAGE_PUE} is the global "
            "average data centre; the frontier and trials.csv keep the trials' own joules)"
        ),
    )
    report.add_argument(
        "--carbon-intensity",
        type=float,
        default=DEFAULT_CARBON_G_PER_KWH,
        metavar="G_PER_KWH",
        help=(
            f"grams of CO2e per kWh of electricity (0, or 1 to {_MAX_CARBON_G_PER_KWH:g}; default "
            f"{DEFAULT_CARBON_G_PER_KWH:g}, about the world average)"
        ),
    )
    report.add_argument(
        "--baseline",
        type=_baseline,
        default="most-accurate",
        help=(
            "the trial the frontier models are compared with in the ledger: 'most-accurate' (default: the best "
            "value of the first objective that is not an energy figure, named in the report), 'first' (first "
            "completed trial), or a trial index"
        ),
    )
    files = report.add_mutually_exclusive_group()  # --out with --no-files: a folder named for files never written
    files.add_argument(
        "--out", metavar="DIR", type=_folder, help="write frontier.png and trials.csv here (default: SWEEP_DIR)"
    )
    files.add_argument("--no-files", action="store_true", help="do not write frontier.png and trials.csv")
    report.add_argument("--json", action="store_true", help="print the same figures as JSON, for scripts")
    return parser


def _report(args: argparse.Namespace) -> int:
    from lightning_ecopt.report import SweepDataError, build_report, render, write_files

    report = build_report(args.sweep_dir, pue=args.pue, carbon_g_per_kwh=args.carbon_intensity, baseline=args.baseline)
    unwritten: EcoptError | None = None
    if not args.no_files:
        try:
            write_files(report, args.out)
        except SweepDataError as exc:  # a folder it cannot write: the figures first, then the error (exit 2)
            unwritten = exc
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, allow_nan=False), flush=True)  # a broken pipe raises here
    else:
        render(report)  # on a stdout that cannot encode its symbols (cp1252, ASCII), as ASCII
    if unwritten is not None:
        raise unwritten
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``ecopt`` command line.

    Args:
        argv: The arguments (default ``sys.argv[1:]``).

    Returns:
        The exit status: 0; 2 for bad input (after one error line on stderr); 1 when the reader of stdout went away
        early (a broken pipe, as ``ecopt report DIR --json | head``), silently.

    Raises:
        SystemExit: A bad command line, with status 2 and argparse's usage message (as every argparse program).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "report":
            return _report(args)
    except BrokenPipeError:
        # The reader went away (`ecopt report DIR --json | head`): not bad input. Silence the flush at exit, as rich
        # does on a broken pipe.
        with contextlib.suppress(OSError, ValueError):  # stdout without a file descriptor (captured): nothing to do
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except (EcoptError, OSError) as exc:
        message = str(exc) if isinstance(exc, EcoptError) else f"ecopt {args.command}: {exc}"
        print(f"error: {message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    parser.error(f"unknown command {args.command!r}")
    return EXIT_BAD_INPUT  # pragma: no cover - parser.error exits


if __name__ == "__main__":
    sys.exit(main())
