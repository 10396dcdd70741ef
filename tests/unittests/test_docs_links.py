"""Every relative link and ``#anchor`` in the README and the docs resolves (GitHub's heading-anchor rules)."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _outside_code(path: Path) -> list[tuple[int, str]]:
    """The page's lines outside fenced code blocks, numbered from 1."""
    lines, fenced = [], False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced:
            lines.append((number, line))
    return lines


def anchors(path: Path) -> set[str]:
    """The anchors GitHub gives the page's headings: lower case, punctuation but ``-`` and ``_`` dropped, spaces as
    ``-``, a repeated heading's ``-1``, ``-2`` ...

    Example:
        >>> import tempfile
        >>> page = Path(tempfile.mkdtemp()) / "p.md"
        >>> _ = page.write_text("# A `code` title: (x)\\n## Notes\\n## Notes\\n```\\n# not a heading\\n```\\n")
        >>> sorted(anchors(page))
        ['a-code-title-x', 'notes', 'notes-1']
    """
    seen: dict[str, int] = {}
    for _, line in _outside_code(path):
        heading = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if heading is None:
            continue
        text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading.group(1))  # a linked word keeps its text
        slug = re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")
        seen[slug] = seen.get(slug, -1) + 1
    return {slug if n == 0 else f"{slug}-{n}" for slug, count in seen.items() for n in range(count + 1)}


def links(path: Path) -> list[tuple[int, str]]:
    """The page's Markdown link targets outside code (fenced blocks and inline code spans), with their line."""
    found = []
    for number, line in _outside_code(path):
        for target in re.findall(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)", re.sub(r"`[^`]*`", "", line)):
            found.append((number, target))
    return found


def broken(path: Path) -> list[str]:
    """The page's relative links to a file that does not exist or to an anchor its page does not have."""
    bad = []
    for number, target in links(path):
        if re.match(r"^[a-z]+:", target):  # https:, mailto: ...
            continue
        file, _, anchor = target.partition("#")
        dest = (path.parent / file).resolve() if file else path
        if not dest.exists():
            bad.append(f"{path.name}:{number}: no file {target}")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            bad.append(f"{path.name}:{number}: no heading for #{anchor} in {dest.name}")
    return bad


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_relative_link_and_anchor_resolves(page):
    assert broken(page) == []


def test_a_broken_link_and_a_missing_anchor_are_found(tmp_path):
    (tmp_path / "other.md").write_text("# Other page\n## Its section\n", encoding="utf-8")
    page = tmp_path / "page.md"
    page.write_text(
        "# Title\n[ok](other.md#its-section) [self](#title) [web](https://example.org/x)\n"
        "[gone](missing.md) [typo](other.md#its-sectoin) `[code](nowhere.md)`\n```\n[fenced](nowhere.md)\n```\n",
        encoding="utf-8",
    )
    assert broken(page) == ["page.md:3: no file missing.md", "page.md:3: no heading for #its-sectoin in other.md"]
