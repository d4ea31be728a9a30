"""Regenerate the README's results table from the paper registry (``contrastkit papers --markdown``).

Usage: ``PYTHONPATH=src python scripts/sync_readme.py`` (``--check`` exits 1 when the README is stale).
"""

from __future__ import annotations

import sys
from pathlib import Path

from contrastkit.papers import list_papers
from contrastkit.papers._table import README_BEGIN, README_END, readme_section

README = Path(__file__).resolve().parents[1] / "README.md"


def main(argv: list[str]) -> int:
    text = README.read_text()
    if README_BEGIN not in text or README_END not in text:
        print(f"error: {README} has no generated-table markers", file=sys.stderr)
        return 2
    start, end = text.index(README_BEGIN), text.index(README_END) + len(README_END)
    new = text[:start] + readme_section(list_papers()) + text[end:]
    if "--check" in argv:
        return 0 if new == text else 1
    README.write_text(new)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
