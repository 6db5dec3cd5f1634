"""The README's settings table is generated from the registry; this keeps it from drifting."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rebooter.config import settings

README = Path(__file__).resolve().parents[1] / "README.md"
START, END = "<!-- settings-table:start -->", "<!-- settings-table:end -->"


def render(text: str) -> str:
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{settings.markdown_table()}\n{END}{tail}"


def test_readme_settings_table_is_current():
    text = README.read_text()
    assert text == render(text), "run: python tests/test_readme.py to refresh the README settings table"


if __name__ == "__main__":
    README.write_text(render(README.read_text()))
