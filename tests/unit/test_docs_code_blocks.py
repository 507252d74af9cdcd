"""Every Python block in the documentation runs in the test suite.

A ```python block in README.md, CONTRIBUTING.md or docs/ must be a snippet include
(``--8<-- "examples/NAME.py"``) of a file under examples/ that a test runs, or carry an
explicit ``<!-- fragment: why -->`` comment on the line above its fence. A block with
no language that reads like Python counts as Python.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted(
    [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *(ROOT / "docs").rglob("*.md")],
    key=lambda p: str(p),
)
_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})\s*(?P<lang>[\w+-]*)")
_INCLUDE = re.compile(r'^--8<--\s+"(?P<path>examples/[\w./-]+?\.py)(?::[\w:-]*)?"$')
_FRAGMENT = re.compile(r"^<!--\s*fragment:\s*\S.*-->$")
_PYTHONISH = re.compile(r"^\s*(from \w[\w.]* import |import \w|async def |def |class \w)")


@dataclass(frozen=True)
class Block:
    page: str
    line: int  # of the opening fence, 1-based
    lang: str
    body: list[str]
    above: str  # the nearest non-blank line above the fence


def blocks(page: Path) -> list[Block]:
    """The fenced code blocks of a Markdown page."""
    lines = page.read_text().splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        fence = opening["fence"]
        end = i + 1
        while end < len(lines) and not lines[end].strip().startswith(fence):
            end += 1
        above = next((line.strip() for line in reversed(lines[:i]) if line.strip()), "")
        name = str(page.relative_to(ROOT)) if page.is_relative_to(ROOT) else page.name
        found.append(Block(name, i + 1, opening["lang"].lower(), lines[i + 1 : end], above))
        i = end + 1
    return found


def is_python(block: Block) -> bool:
    if block.lang in ("python", "py", "python3", "pycon"):
        return True
    return block.lang == "" and any(_PYTHONISH.match(line) for line in block.body)


def run_by_a_test(example: str) -> bool:
    """Whether a test (other than this one) names the example file."""
    name = Path(example).name
    tests = (ROOT / "tests").rglob("*.py")
    return any(name in t.read_text() for t in tests if t != Path(__file__).resolve())


def problems(block: Block) -> list[str]:
    """Why a Python block is not known to run (empty when it is)."""
    if not is_python(block):
        return []
    where = f"{block.page}:{block.line}"
    if _FRAGMENT.match(block.above):
        return []
    lines = [line.strip() for line in block.body if line.strip()]
    if not lines:
        return [f"{where}: an empty Python block"]
    found = []
    for line in lines:
        include = _INCLUDE.match(line)
        if include is None:
            return [
                f"{where}: Python that no test runs ({line[:40]!r}): include a file under"
                ' examples/ with --8<-- "examples/NAME.py", or mark the block'
                " <!-- fragment: why --> on the line above it"
            ]
        elif not (ROOT / include["path"]).is_file():
            found.append(f"{where}: {include['path']} does not exist")
        elif not run_by_a_test(include["path"]):
            found.append(f"{where}: no test under tests/ runs {include['path']}")
    return found


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_python_block_is_an_example_a_test_runs(page: Path) -> None:
    assert [p for block in blocks(page) for p in problems(block)] == []


def test_the_docs_include_the_examples() -> None:
    included = {line.strip() for page in PAGES for block in blocks(page) for line in block.body}
    for example in ("sdk_client", "sdk_contractor", "sdk_sync", "sdk_operator"):
        assert f'--8<-- "examples/{example}.py"' in included


def test_python_that_is_written_out_is_refused(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "# A page\n\n```python\nimport time\ntime.sleep(1)\n```\n\n"
        "```\nfrom crewline.client import Client\n```\n\n"
        "<!-- fragment: a signature, not a program -->\n```python\ndef claim(task_id): ...\n```\n\n"
        '```python\n--8<-- "examples/sdk_client.py"\n```\n\n'
        '```python\n--8<-- "examples/not_there.py"\n```\n\n'
        "```bash\nmake up\n```\n"
    )
    found = [p for block in blocks(page) for p in problems(block)]
    assert [p.split(":", 2)[1] for p in found] == ["3", "8", "21"]
    assert "examples/not_there.py does not exist" in found[2]
