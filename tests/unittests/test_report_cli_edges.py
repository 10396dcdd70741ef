"""`ecopt report` at the edges: narrow and piped output, command-line errors, a closed pipe, half-copied files."""

import dataclasses
import io
import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from lightning_ecopt.cli import main
from lightning_ecopt.report import SweepDataError, build_report, load_sweep, render, write_files
from lightning_ecopt.sweeper.objectives import parse_objectives
from lightning_ecopt.sweeper.results import RESULTS_FILENAME, SweepResult, TrialRecord, write_results
from lightning_ecopt.sweeper.settings import SweepSettings

OBJECTIVES = parse_objectives({"test/acc": "maximize", "energy/test_samples_per_j": "maximize"}, None)
PARAMS = {"model.width": 33, "model.depth": 1, "model.kernel": 3, "model.lr": 0.0006982937, "model.pooling": False}


def trial(i, acc, j_per_sample):
    metrics = {
        "test/acc": acc,
        "energy/test_samples_per_j": 1.0 / j_per_sample,
        "energy/test_j_per_sample": j_per_sample,
        "energy/train_j": 4.0,
        "energy/test_j": 0.5,
        "model/params": 1000.0 * (i + 1),
        "model/flops_per_sample": 5000.0 * (i + 1) ** 2,
    }
    return TrialRecord(i, {**PARAMS, "model.width": 8 * (i + 1)}, "completed", metrics, {}, None, "estimated: cpu-time")


TRIALS = (
    trial(0, 0.9052924, 0.000535),
    trial(1, 0.8356546, 0.000329),
    trial(2, 0.8300835, 0.000122),
    TrialRecord(3, dict(PARAMS), "failed", reason="ValueError: depth too large"),
)


@pytest.fixture
def sweep_dir(tmp_path):
    result = SweepResult(OBJECTIVES, TRIALS, (0, 1, 2), {"test/acc": 0.8, "energy/test_samples_per_j": 1000.0})
    write_results(tmp_path / RESULTS_FILENAME, result, SweepSettings(OBJECTIVES, n_trials=4, seed=0))
    return tmp_path


def test_a_narrow_terminal_folds_the_figures_instead_of_cutting_them(sweep_dir):
    buffer = io.StringIO()
    render(build_report(sweep_dir), Console(file=buffer, width=60, color_system=None))
    text = buffer.getvalue()
    assert "…" not in text  # rich's default overflow cuts 0.9053 to "0.9…": the figure is lost
    assert max(len(line) for line in text.splitlines()) <= 60


def _frontier_table(report, width):
    """The frontier table as ``render`` prints it at ``width`` columns: ``(header cells, body cells)`` by row."""
    buffer = io.StringIO()
    render(report, Console(file=buffer, width=width, color_system=None))
    table = buffer.getvalue().split("Pareto frontier")[1].split("higher is better")[0]
    assert max(len(line) for line in table.splitlines()) <= width
    header, body = table.split("┡")
    return (
        [[cell.strip() for cell in line.split("┃")[1:-1]] for line in header.splitlines() if line.startswith("┃")],
        [[cell.strip() for cell in line.split("│")[1:-1]] for line in body.splitlines() if line.startswith("│")],
    )


def _pieces(line):
    """A header line's pieces: it may break after a separator of its name (``model.`` | ``depth``), nowhere else."""
    cuts = [0, *(k for k in range(1, len(line)) if line[k - 1] in "./_" and line[k] not in "./_ "), len(line)]
    return [line[i:j] for i, j in itertools.pairwise(cuts)]


def _runs(line):
    """What a header line may print as on one line of its column: a run of its whole pieces."""
    pieces = _pieces(line)
    return {"".join(pieces[i:j]) for i in range(len(pieces)) for j in range(i + 1, len(pieces) + 1)}


def _frontier_text(report, width):
    """The frontier as ``render`` prints it at ``width`` columns, between its title and its caption."""
    buffer = io.StringIO()
    render(report, Console(file=buffer, width=width, color_system=None))
    text = buffer.getvalue().split("Pareto frontier")[1].split("higher is better")[0]
    assert max(len(line) for line in text.splitlines()) <= width
    return text


def _frontier_blocks(report, width):
    """The frontier printed one block per configuration: ``{trial label: [(name, figure), ...]}``."""
    blocks: dict[str, list[tuple[str, str]]] = {}
    for line in _frontier_text(report, width).splitlines()[1:]:  # the title's own line(s) first
        if line.startswith("#") or line.startswith("~#"):
            label = line.strip()
            blocks[label] = []
        elif blocks and line.startswith("  ") and line.strip():
            name, _, figure = line.strip().rpartition("  ")
            blocks[label].append((name.strip(), figure.strip()))
    return blocks


def test_every_width_that_holds_the_figures_prints_each_on_one_line_and_breaks_headers_at_separators(sweep_dir):
    """Mutation survivors: a terminal exactly as wide as the figures need got rich's proportional narrowing (figures
    folded) instead of one column per figure; headers measured by their shortest line broke inside a word
    ("energy/test_s" over "amples_per_j") where room was left; and the trial column folded its "#k ★ knee" label
    in a terminal too narrow for the figures. Checked at every width, from narrower than the figures to wide.

    Narrower than every figure and every header's widest piece, the table folded its headers one character a line
    ("m" / "o" / "d" ...) and, narrower still, its figures: there each configuration prints as a block instead, a
    line per column with the figure whole."""
    report = build_report(sweep_dir)
    headers, rows = _frontier_table(report, 300)  # wide: every header line and every figure whole
    assert len(rows) == 3
    lines = [[cell for cell in column if cell] for column in zip(*headers, strict=True)]
    runs = [set().union(*map(_runs, column)) for column in lines]
    piece = [max(len(p) for line in column for p in _pieces(line)) for column in lines]
    figure = [max(len(cell) for cell in column) for column in zip(*rows, strict=True)]
    chrome = 3 * len(figure) + 1  # a boxed table: a border and a space either side of every column
    wide = chrome + sum(max(f, *map(len, column)) for f, column in zip(figure, lines, strict=True))
    knee = next(row[0] for row in rows if "knee" in row[0])
    names = [" ".join(column) for column in lines[1:]]
    for width in range(30, wide + 2):
        if "┡" not in _frontier_text(report, width):  # blocks: every configuration, column and figure whole
            assert width < chrome + sum(map(max, figure, piece)), width  # only where the table breaks a header piece
            blocks = _frontier_blocks(report, width)
            assert list(blocks) == [row[0] for row in rows], width
            for row in rows:
                shown = [(name, cell) for name, cell in blocks[row[0]] if name]  # a folded name's rest has no figure
                assert [cell for _, cell in shown] == row[1:], (width, shown)
                assert all(whole.startswith(name) for (name, _), whole in zip(shown, names, strict=True)), shown
            continue
        narrowed_headers, narrowed = _frontier_table(report, width)
        assert knee in [row[0] for row in narrowed], width  # the trial column never folds
        assert narrowed == rows, width  # a table keeps every figure on one line: narrower, the blocks do
        for column, allowed in zip(zip(*narrowed_headers, strict=True), runs, strict=True):
            cells = [cell for cell in column if cell]
            assert min(map(len, cells)) >= 2, (width, column)  # never a letter a line (a folded piece: ker / nel)
            if width >= chrome + sum(map(max, figure, piece)):  # room for every header's pieces: broken between them
                assert set(cells) <= allowed, (width, column)


_TABLES = {
    "proxy audit": ("Proxy audit:", "(cpu-time))\n", "Against "),
    "savings": ("Frontier models", "0.9053\n", "Break-even:"),
}
"""The report's other tables: ``(their title's start, its end, what follows the table)`` in the fixture's report."""


def _table_section(report, width, table):
    """The proxy audit or the savings table as ``render`` prints it at ``width`` columns, without its title."""
    start, end, after = _TABLES[table]
    buffer = io.StringIO()
    render(report, Console(file=buffer, width=width, color_system=None))
    text = buffer.getvalue()
    section = text[text.index(start) :].split(end, 1)[1].split(after, 1)[0]
    assert max(len(line) for line in section.splitlines()) <= width
    return section


def _boxed_cells(section):
    """A boxed table's ``(header cells, body cells)`` by printed line."""
    header, body = section.split("┡")
    return (
        [[cell.strip() for cell in line.split("┃")[1:-1]] for line in header.splitlines() if line.startswith("┃")],
        [[cell.strip() for cell in line.split("│")[1:-1]] for line in body.splitlines() if line.startswith("│")],
    )


def _row_blocks(section):
    """A table printed one block per row: ``{first cell: [(name, figure), ...]}``."""
    blocks: dict[str, list[tuple[str, str]]] = {}
    for line in section.splitlines():
        if line and not line.startswith(" "):
            label = line.strip()
            blocks[label] = []
        elif blocks and line.strip():
            name, _, figure = line.strip().rpartition("  ")
            blocks[label].append((name.strip(), figure.strip()))
    return blocks


def _word_pieces(line):
    """A header line's pieces: it may break after a separator of its name, or at a space before a word."""
    cuts = [
        0,
        *(
            k
            for k in range(1, len(line))
            if (line[k - 1] in "./_" and line[k] not in "./_ ") or (line[k - 1] == " " and line[k].isalnum())
        ),
        len(line),
    ]
    return [line[i:j] for i, j in itertools.pairwise(cuts)]


@pytest.mark.parametrize("table", ["proxy audit", "savings"])
def test_the_audit_and_savings_tables_keep_every_value_on_one_line_or_print_blocks(sweep_dir, table):
    """At 50 columns the savings table printed its figures over two lines ("0.905" over "3", "535" over "µJ",
    ">= 65,53" over "4") and its headers a few letters a line ("infer" / "ence", "break" / "-even"), and the proxy
    audit "-1.000" over "(0.33)": rich narrowed every column in proportion. As the frontier does, each table keeps
    its figures whole where they fit, its headers broken at spaces and separators, and prints one block per row
    (its first cell, then a line per column) where they do not. Checked at every width, from narrow to wide."""
    report = build_report(sweep_dir)
    headers, rows = _boxed_cells(_table_section(report, 300, table))  # wide: every header and figure whole
    (headers,) = headers
    assert len(rows) == (2 if table == "proxy audit" else 3)
    piece = [max(len(p.rstrip()) for p in _word_pieces(header)) for header in headers]
    figure = [max(len(cell) for cell in column) for column in zip(*rows, strict=True)]
    chrome = 3 * len(headers) + 1  # a border and a space either side of every column
    wide = chrome + sum(max(f, len(h)) for f, h in zip(figure, headers, strict=True))
    fits = chrome + sum(map(max, figure, piece))  # every figure and every header's widest piece on one line
    for width in range(30, wide + 2):
        section = _table_section(report, width, table)
        if "┡" not in section:  # blocks: every row, column and figure whole
            assert width < fits, width  # only where the table would break a figure or a header's piece
            blocks = _row_blocks(section)
            assert list(blocks) == [row[0] for row in rows], (width, section)
            for row in rows:
                shown = [(name, cell) for name, cell in blocks[row[0]] if name]  # a folded name's rest has no figure
                assert [cell for _, cell in shown] == row[1:], (width, shown)
                assert all(whole.startswith(name) for (name, _), whole in zip(shown, headers[1:], strict=True)), shown
            continue
        narrowed_headers, narrowed = _boxed_cells(section)
        assert narrowed == rows, (width, section)  # one line a row: no figure folded
        for column, header in zip(zip(*narrowed_headers, strict=True), headers, strict=True):
            lines = [cell for cell in column if cell]
            assert "".join(lines).replace(" ", "") == header.replace(" ", ""), (width, column)  # whole, in order
            if width >= fits:  # room for every header's pieces: broken between them, never inside a word
                pieces = _word_pieces(header)
                runs = {
                    "".join(pieces[i:j]).rstrip() for i in range(len(pieces)) for j in range(i + 1, len(pieces) + 1)
                }
                assert set(lines) <= runs, (width, column)
    assert "┡" not in _table_section(report, 50, table)  # the terminal of the report: blocks
    assert "┡" in _table_section(report, wide, table)


@pytest.mark.parametrize(("width", "broken"), [(60, ["break-even", "inferences"]), (72, ["saved per", "inference"])])
def test_the_savings_headers_break_at_their_spaces_not_inside_break_even(sweep_dir, width, broken):
    """Narrowed to 60 columns, "break-even inferences" printed "break-e" / "ven" / "inferen" / "ces"; it breaks at its
    space, as the frontier's names break at their separators."""
    headers, rows = _boxed_cells(_table_section(build_report(sweep_dir), width, "savings"))
    columns = [[cell for cell in column if cell] for column in zip(*headers, strict=True)]
    assert broken in columns, columns
    assert [row[-1] for row in rows[1:]] == [">= 65,534", ">= 32,688"]


def test_a_piped_report_keeps_the_width_columns_asks_for(sweep_dir, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "70")
    assert main(["report", str(sweep_dir), "--no-files"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert max(len(line) for line in lines) <= 70


@pytest.mark.parametrize(("columns", "widest"), [("0", 140), (" 70", 70)])
def test_a_columns_rich_misreads_still_gets_the_whole_report(sweep_dir, capsys, monkeypatch, columns, widest):
    # COLUMNS=0 printed nothing at all, with exit status 0 (rich took it for a width of 0); " 70" was taken for 80.
    monkeypatch.setenv("COLUMNS", columns)
    assert main(["report", str(sweep_dir), "--no-files"]) == 0
    out = capsys.readouterr().out
    assert "Search-cost ledger" in out
    assert widest - 10 < max(len(line) for line in out.splitlines()) <= widest


def test_a_piped_report_without_columns_is_140_wide(sweep_dir, capsys, monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    assert main(["report", str(sweep_dir), "--no-files"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert 80 < max(len(line) for line in lines) <= 140


def test_a_piped_report_s_table_titles_are_whole_lines_a_grep_finds(sweep_dir, capsys, monkeypatch):
    # A table's title wrapped at the table's width and was padded to it: the proxy audit's title, wider than its
    # table, was split over two lines ("... against energy per     " / "inference (estimated ...)").
    monkeypatch.delenv("COLUMNS", raising=False)
    assert main(["report", str(sweep_dir), "--no-files"]) == 0
    lines = capsys.readouterr().out.splitlines()
    audit = [line for line in lines if line.startswith("Proxy audit:")]
    assert audit == ["Proxy audit: parameter count and FLOPs against energy per inference (estimated (cpu-time))"]
    assert any(line.startswith("Pareto frontier: ") and line == line.rstrip() for line in lines)


def test_a_piped_report_s_title_longer_than_its_width_stays_one_line(tmp_path, capsys, monkeypatch):
    # The savings title names the accuracy objective twice: with a long name it ran past the 140 columns of a piped
    # report and was split, its figures on a line without the words a grep would look for.
    name = "test/accuracy_on_the_held_out_digits_at_the_chosen_inference_batch_size"
    objectives = parse_objectives({name: "maximize", "energy/test_samples_per_j": "maximize"}, None)
    trials = tuple(
        dataclasses.replace(t, metrics={name if k == "test/acc" else k: v for k, v in t.metrics.items()})
        for t in TRIALS
    )
    result = SweepResult(objectives, trials, (0, 1, 2), {name: 0.8, "energy/test_samples_per_j": 1000.0})
    write_results(tmp_path / RESULTS_FILENAME, result, SweepSettings(objectives, n_trials=4, seed=0))
    monkeypatch.delenv("COLUMNS", raising=False)
    assert main(["report", str(tmp_path), "--no-files"]) == 0
    lines = capsys.readouterr().out.splitlines()
    (title,) = [line for line in lines if line.startswith("Frontier models against baseline")]
    assert len(title) > 140
    assert title.endswith(f"per inference, {name} 0.9053")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["report", "{dir}", "--pue", "abc"], "error: ecopt report: argument --pue: invalid float value: 'abc'"),
        (["report", "{dir}", "--carbon-intensity", "x"], "error: ecopt report: argument --carbon-intensity: invalid"),
        (["report", "{dir}", "--baseline", "FIRST"], "error: ecopt report: argument --baseline: 'FIRST' is neither"),
        (["report", "{dir}", "--bogus"], "error: ecopt: unrecognized arguments: --bogus"),
        (["report"], "error: ecopt report: the following arguments are required: SWEEP_DIR"),
        ([], "error: ecopt: the following arguments are required: COMMAND"),
        (["rport"], "error: ecopt: argument COMMAND: invalid choice: 'rport'"),
        # An unset variable ("$DIR"): the empty text was read as '.', the files written where the command ran.
        (["report", "{dir}", "--out", ""], "error: ecopt report: argument --out: '' is empty; name a folder ('.' for"),
        (["report", ""], "error: ecopt report: argument SWEEP_DIR: '' is empty; name a folder ('.' for the current"),
        # --out was ignored: no file written, and no word that the folder it named got none.
        (["report", "{dir}", "--no-files", "--out", "{dir}/x"], "error: ecopt report: argument --out: not allowed "),
        (["report", "{dir}", "--out", "{dir}/x", "--no-files"], "error: ecopt report: argument --no-files: not allo"),
    ],
)
def test_a_bad_command_line_is_one_error_line_and_exit_2(sweep_dir, capsys, args, message):
    with pytest.raises(SystemExit) as exit_info:
        main([a.format(dir=sweep_dir) for a in args])
    assert exit_info.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(message)
    assert err.count("\n") == 1
    assert "--help'." in err
    assert "usage:" not in err


def test_the_pue_help_names_what_pue_multiplies_the_ledger_not_the_trials_figures(sweep_dir, tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["report", "-h"])
    help_text = " ".join(capsys.readouterr().out.split())
    # It said "applied to every joule", while trials.csv and the frontier keep the trials' own joules.
    assert "applied to the ledger's joules" in help_text
    assert "trials.csv keep the trials' own joules" in help_text
    totals = []
    for pue in ("1", "2"):
        assert main(["report", str(sweep_dir), "--pue", pue, "--out", str(tmp_path / pue), "--json"]) == 0
        totals.append(json.loads(capsys.readouterr().out)["ledger"]["total_j"])
    assert totals[1] == pytest.approx(2 * totals[0])
    assert (tmp_path / "2" / "trials.csv").read_text() == (tmp_path / "1" / "trials.csv").read_text()


def test_the_version_names_the_stack_a_bug_report_needs(capsys):
    from importlib import metadata

    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    ours, stack = capsys.readouterr().out.splitlines()  # two lines whatever the terminal's width
    assert ours == f"ecopt (lightning_ecopt) {metadata.version('lightning_ecopt')}"
    for name in ("ax-platform", "botorch", "torch", "lightning", "hydra-core", "zeus"):
        assert f"{name} {metadata.version(name)}" in stack


def test_a_reader_that_goes_away_is_not_bad_input(sweep_dir):
    script = Path(sys.executable).with_name("ecopt")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "lightning_ecopt.cli"]
    read_end, write_end = os.pipe()
    os.close(read_end)  # `ecopt report DIR --json | head -0`: the reader is gone before the report is printed
    try:
        done = subprocess.run(
            [*command, "report", str(sweep_dir), "--json", "--no-files"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        os.close(write_end)
    assert done.stderr == ""  # was "error: ecopt report: [Errno 32] Broken pipe", exit 2, as for bad input
    assert done.returncode == 1


def _cut_before(text, marker):
    return text[: text.index(marker)]


def test_a_results_file_cut_short_between_trials_is_refused(sweep_dir):
    path = sweep_dir / RESULTS_FILENAME
    path.write_text(_cut_before(path.read_text(), "- trial_index: 2\n  status: completed"))
    with pytest.raises(SweepDataError, match=r"the file is cut short: it lacks the 'end: true' line"):
        load_sweep(sweep_dir)
    # A file written before the end marker (no `format`) is still caught by its counts.
    path.write_text(path.read_text().replace("format: 2\n", ""))
    with pytest.raises(SweepDataError, match=r"counts.completed is 3 but the trials list holds 2 completed trials"):
        load_sweep(sweep_dir)


def test_a_results_file_cut_anywhere_is_refused_or_read_whole(tmp_path):
    # The settings come last: a copy cut inside them lost the outcome constraints, and the ledger's baseline became
    # trial 0, which the user ruled out (test/acc >= 0.85 and trial 0's 0.84), with exit status 0.
    trials = (trial(0, 0.84, 0.000535), *TRIALS[1:3], dataclasses.replace(TRIALS[3], metrics={"energy/train_j": 1.5}))
    settings = SweepSettings(OBJECTIVES, n_trials=6, seed=0, outcome_constraints=["test/acc >= 0.83"])
    result = SweepResult(OBJECTIVES, trials, (1, 2), {"test/acc": 0.8, "energy/test_samples_per_j": 1000.0})
    path = tmp_path / "whole" / RESULTS_FILENAME
    write_results(path, result, settings)
    text = path.read_text()
    whole = load_sweep(path)
    assert whole.constraints == ("test/acc >= 0.83",)
    cut = tmp_path / "cut" / RESULTS_FILENAME
    cut.parent.mkdir()
    lines = text.splitlines(keepends=True)
    ends = sorted({len("".join(lines[:k])) for k in range(len(lines))} | set(range(0, len(text), 7)))
    read, errors = [], []
    for end in ends:
        cut.write_text(text[:end])
        try:
            sweep = load_sweep(cut)
        except SweepDataError as exc:
            errors.append(str(exc))
            continue
        read.append(end)
        result = dataclasses.replace(sweep.result, results_path=whole.results_path)
        assert (
            dataclasses.replace(sweep, sweep_dir=whole.sweep_dir, results_path=whole.results_path, result=result)
            == whole
        )
    assert read == []  # only the whole file is read: every cut loses at least its last line
    assert all(e.startswith(f"ecopt report: {str(cut)!r}") and "rerun the sweep command" in e for e in errors)
    cut.write_text(text)
    assert load_sweep(cut).constraints == whole.constraints


def test_a_results_file_cut_short_before_its_trials_is_said_to_be_incomplete(sweep_dir, capsys):
    path = sweep_dir / RESULTS_FILENAME
    path.write_text(_cut_before(path.read_text(), "trials:"))
    assert main(["report", str(sweep_dir)]) == 2
    err = capsys.readouterr().err
    assert "no 'trials' list: the file is incomplete" in err
    assert "not an ecopt sweeper's results file" not in err  # it is one: name: ecopt


def test_an_unwritable_folder_names_both_ways_out(sweep_dir):
    report = build_report(sweep_dir)
    blocker = sweep_dir / "a file"
    blocker.write_text("")
    with pytest.raises(SweepDataError, match=r"with --out DIR, or skip the files with --no-files"):
        write_files(report, blocker / "out")


def test_a_sweep_dir_it_may_not_look_into_is_one_error_line_with_the_way_out(sweep_dir, monkeypatch, capsys):
    # A folder without search permission (chmod 000) printed Python's "[Errno 13] Permission denied: '...'" alone.
    results = sweep_dir / RESULTS_FILENAME
    is_file = Path.is_file

    def denied(path):
        if path == results:
            raise PermissionError(13, "Permission denied", str(results))
        return is_file(path)

    monkeypatch.setattr(Path, "is_file", denied)
    assert main(["report", str(sweep_dir), "--no-files"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        f"error: ecopt report: cannot look for {RESULTS_FILENAME} in {str(sweep_dir)!r} (Permission denied: "
        f"{str(results)!r}); ask for read access to the sweep directory, or report on a copy of it.\n"
    )


@pytest.mark.parametrize("name", ["multirun.yaml", "ax_experiment.json"])
def test_another_file_of_the_sweep_dir_names_the_sweep_dir(sweep_dir, capsys, name):
    # Hydra's multirun.yaml was read as a results file and refused as one "Hydra's Optuna sweeper writes", with
    # "rerun the sweep with hydra/sweeper=ecopt": a sweep that had.
    (sweep_dir / name).write_text("hydra:\n  mode: MULTIRUN\n")
    assert main(["report", str(sweep_dir / name), "--no-files"]) == 2
    assert capsys.readouterr().err == (
        f"error: ecopt report: {str(sweep_dir / name)!r} is a file but not a results file; pass the sweep directory "
        f"{str(sweep_dir)!r}.\n"
    )


def test_an_out_that_is_a_file_is_named_a_file_not_a_folder(sweep_dir):
    # mkdir's "(File exists)" gave no reason a user could act on: the file is there, and is what --out names.
    report = build_report(sweep_dir)
    blocker = sweep_dir / "a file"
    blocker.write_text("")
    with pytest.raises(SweepDataError, match=r"to '.*a file': it is a file, not a folder; choose a folder with --out"):
        write_files(report, blocker)
    assert blocker.read_text() == ""


@pytest.mark.parametrize("json_out", [False, True])
def test_a_folder_it_cannot_write_still_gets_its_report_then_the_error(sweep_dir, capsys, json_out):
    # Before: the error line alone, the report's tables unseen (a colleague's sweep dir, a read-only copy).
    blocker = sweep_dir / "a file"
    blocker.write_text("")
    assert main(["report", str(sweep_dir), "--out", str(blocker / "out"), *(["--json"] if json_out else [])]) == 2
    out, err = capsys.readouterr()
    if json_out:
        assert json.loads(out)["files"] == {}
    else:
        assert "Pareto frontier" in out
        assert "Search-cost ledger" in out
        assert "Wrote" not in out
    assert err.startswith("error: ecopt report: cannot write frontier.png and trials.csv to")
    assert err.count("\n") == 1


# Five are named; with six, the sixth was once left unsaid (a mutation survivor: only seven were checked).
@pytest.mark.parametrize(("n_sweeps", "more"), [(7, 2), (6, 1)])
def test_many_sweeps_below_a_folder_are_counted(tmp_path, sweep_dir, n_sweeps, more):
    for k in range(n_sweeps):
        (tmp_path / f"runs/{k:02d}").mkdir(parents=True)
        (tmp_path / f"runs/{k:02d}" / RESULTS_FILENAME).write_text((sweep_dir / RESULTS_FILENAME).read_text())
    with pytest.raises(SweepDataError, match=rf"/04' and {more} more\.$"):
        load_sweep(tmp_path / "runs")


def test_a_results_file_of_a_newer_format_asks_for_a_newer_lightning_ecopt(sweep_dir):
    """Mutation survivor: no test read a file of another format (a mutant read format 3 as format 2)."""
    path = sweep_dir / RESULTS_FILENAME
    path.write_text(path.read_text().replace("format: 2\n", "format: 3\n"))
    with pytest.raises(
        SweepDataError, match=r"format: 3: this lightning_ecopt reads results files of format 2 .*upgrade"
    ):
        load_sweep(sweep_dir)


def test_a_file_with_a_trials_list_under_another_name_is_refused_for_its_name(tmp_path):
    """Mutation survivor: no test gave a file with trials but another name (a mutant read it as ecopt's); and the
    message said "name: 'optuna' and no 'trials' list" of a file that has one."""
    (tmp_path / RESULTS_FILENAME).write_text("name: optuna\nobjectives: {a: maximize}\ntrials: []\n")
    with pytest.raises(
        SweepDataError, match=r"name: 'optuna', not 'ecopt': this is not an ecopt sweeper's results"
    ) as e:
        load_sweep(tmp_path)
    assert "no 'trials' list" not in str(e.value)
    assert "Optuna" not in str(e.value)  # whose file has no trials: no reason to name it here


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("name: optuna\n", "name: 'optuna' and no 'trials' list: this is not an ecopt sweeper's results file"),
        ("name: 5\n", "name: 5 and no 'trials' list: this is not an ecopt sweeper's results file"),
        ("name: eco\n", r"the file is cut short in its first line \(name: 'eco'\)"),
        ("name:\n", r"the file is cut short in its first line \(name: None\)"),
    ],
)
def test_a_file_of_its_name_line_alone_is_cut_short_only_where_the_name_begins_ecopt(tmp_path, text, match):
    """Mutation survivor: another sweeper's file of a ``name`` alone (``name: optuna``) read as a cut-short one."""
    (tmp_path / RESULTS_FILENAME).write_text(text)
    with pytest.raises(SweepDataError, match=match):
        load_sweep(tmp_path)


@pytest.mark.parametrize("width", [40, 60, 80])
def test_a_value_wider_than_the_terminal_folds_in_its_block_and_hides_no_other_figure(width):
    """A parameter value wider than the terminal (a dataset path) took the blocks' figure column whole: at 60 columns
    every name and every other figure of the block was pushed off the line (blank lines, the path cut), where the
    boxed table before the blocks folded the path and kept them."""
    path = "/data/datasets/imagenet/train_subset_number_{}_with_a_long_name.tar"  # 66 characters
    trials = tuple(
        TrialRecord(
            i,
            {"data.path": path.format(i), "model.lr": 0.1 * (i + 1)},
            "completed",
            {"test/acc": 0.9 - i / 10, "energy/test_samples_per_j": 100.0 * (i + 1)},
            {},
            None,
            "measured: zeus/rapl",
        )
        for i in range(2)
    )
    text = _frontier_text(build_report(SweepResult(OBJECTIVES, trials, (0, 1))), width)
    assert "┡" not in text  # blocks
    lines = text.splitlines()
    for i in range(2):
        block = "\n".join(itertools.takewhile(lambda line: not line.startswith("#"), lines[lines.index(f"#{i}") + 1 :]))
        for shown in (
            "test/acc",
            "data.path",
            "model.lr",
            f"{0.9 - i / 10:g}",
            f"{100 * (i + 1)}",
            f"{0.1 * (i + 1):g}",
        ):
            assert shown in block, (width, shown, block)
        assert "".join(block.split()).count(path.format(i)) == 1, block  # whole, folded over its lines


@pytest.mark.parametrize(
    ("trials", "on_front"),
    [
        ((), ""),
        ((TrialRecord(0, {"x": 0.1}, "abandoned", reason="interrupted"),), " (no trial has completed or failed yet)"),
        ((TrialRecord(0, {"x": 0.1}, "failed", reason="boom"),), " (failed trials only: no completed trial)"),
    ],
)
def test_a_sweep_without_an_energy_figure_says_none_in_its_header_and_its_ledger(tmp_path, capsys, trials, on_front):
    """The header said "Energy figures: none (no trial has completed or failed yet)" and the ledger's heading below it
    "Search-cost ledger (energy unlabelled; PUE 1)": "unlabelled" names figures without a label, and there were none
    (a failed trial without figures had "unlabelled" in both)."""
    objectives = parse_objectives({"f1": "minimize", "f2": "minimize"}, None)
    write_results(tmp_path / RESULTS_FILENAME, SweepResult(objectives, trials, ()))
    assert main(["report", str(tmp_path), "--no-files"]) == 0
    flat = " ".join(capsys.readouterr().out.split())
    assert f"Energy figures: none{on_front}." in flat
    assert "Search-cost ledger (energy none; PUE 1)" in flat
    assert "unlabelled" not in flat


@pytest.mark.parametrize(
    ("below", "where", "why"),
    [
        (
            "tensorboard",
            "its parent {sweep!r}",
            "'tensorboard' holds the sweep's TensorBoard views, for tensorboard --l",
        ),
        ("tensorboard/trials/0003", "{sweep!r}, 3 levels up,", "'tensorboard' holds the sweep's TensorBoard views"),
        ("0", "its parent {sweep!r}", "a trial's job dir is inside its sweep's"),
        ("0/lightning_logs", "{sweep!r}, 2 levels up,", "a trial's job dir is inside its sweep's"),
        (".submitit", "its parent {sweep!r}", "'.submitit' is a folder inside the sweep dir"),
    ],
)
def test_a_folder_inside_a_sweep_dir_names_the_sweep_dir_and_what_the_folder_is(sweep_dir, capsys, below, where, why):
    """`ecopt report <sweep dir>/tensorboard` (the folder `tensorboard --logdir` takes) said "(a trial's job dir is
    inside its sweep's)": it is no trial's job dir."""
    (sweep_dir / below).mkdir(parents=True)
    assert main(["report", str(sweep_dir / below), "--no-files"]) == 2
    err = capsys.readouterr().err
    sweep = str(sweep_dir)
    assert f"but {where.format(sweep=sweep)} holds one ({why}" in err
    assert err.endswith(f"): pass {sweep!r}.\n")
    assert ("job dir" in err) == below[0].isdigit()


@pytest.mark.parametrize("pue", ["1e308", "156", "10.5"])
@pytest.mark.parametrize("json_out", [False, True])
def test_a_pue_no_facility_has_is_refused_naming_it(sweep_dir, capsys, pue, json_out):
    """`--pue 1e308` printed "Search energy: inf J = inf kWh" and "CO2: inf g" (with --json, null totals), exit 0."""
    assert main(["report", str(sweep_dir), "--no-files", "--pue", pue, *(["--json"] if json_out else [])]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        f"error: pue={float(pue)!r} (ecopt report --pue): PUE is facility energy / IT energy, about 1.1 to 3 in real "
        "data centres; give a number from 1.0 to 10: 1.0 for the IT equipment only or 1.56 for the global average "
        "data centre.\n"
    )


def test_a_pue_of_10_is_the_largest_taken(sweep_dir, capsys):
    assert main(["report", str(sweep_dir), "--no-files", "--json", "--pue", "10"]) == 0
    assert json.loads(capsys.readouterr().out)["ledger"]["total_j"] == pytest.approx(10 * (3 * 4.0 + 3 * 0.5))
