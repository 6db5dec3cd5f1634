"""Syntax check of .bicep files with two independent parsers, reporting file:line:column.

Measured on this repository's templates and on deliberately broken copies:

* ``tree-sitter-bicep`` 1.1.0 accepts all current syntax used here (loops with conditions,
  lambdas, ``.?``/``??``, user types) and marks errors as ERROR/MISSING nodes with positions;
  after some errors it resynchronises a few lines early (a misspelt keyword is reported on the
  previous statement).
* ``pycep-parser`` 0.7.1 (a Lark grammar, the parser family Checkov uses) points at the exact
  unexpected token, but rejects a resource loop with a condition (``[for x in xs: if (c) {``,
  valid Bicep: write a conditional module around a plain loop instead) and parses
  ``a == b ? c : d`` as ``a == (b ? c : d)`` (parenthesise the condition).

A file passes only when both parsers accept it; each error names its parser.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path


@dataclass(frozen=True)
class SyntaxProblem:
    path: Path
    line: int  # 1-based
    column: int  # 1-based
    parser: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {self.parser}: {self.message}"


@lru_cache(maxsize=1)
def _tree_sitter_parser():
    import tree_sitter
    import tree_sitter_bicep

    return tree_sitter.Parser(tree_sitter.Language(tree_sitter_bicep.language()))


def tree_sitter_tree(source: bytes):
    """The tree-sitter concrete syntax tree of a Bicep source."""
    return _tree_sitter_parser().parse(source)


def tree_sitter_problems(path: Path, source: bytes) -> list[SyntaxProblem]:
    """ERROR and MISSING nodes of the tree-sitter tree, outermost first, in source order."""
    problems: list[SyntaxProblem] = []

    def visit(node) -> None:
        if node.is_missing:
            message = f"missing {node.type!r}"
        elif node.is_error:
            text = node.text.decode("utf-8", "replace").strip().splitlines()
            message = f"syntax error at {text[0][:60]!r}" if text else "syntax error"
        else:
            if node.has_error:
                for child in node.children:
                    visit(child)
            return
        row, column = node.start_point
        problems.append(SyntaxProblem(path, row + 1, column + 1, "tree-sitter-bicep", message))

    visit(tree_sitter_tree(source).root_node)
    return problems


@lru_cache(maxsize=1)
def _pycep_parser():
    from pycep import BicepParser

    return BicepParser(cache=False)  # builds its LALR tables once per process (~0.4 s)


def pycep_problems(path: Path, text: str) -> list[SyntaxProblem]:
    """The first error pycep's LALR parser meets (it stops there), if any."""
    from lark.exceptions import UnexpectedInput

    if text.count("'''") % 2:
        line = text[: text.rfind("'''")].count("\n") + 1
        return [SyntaxProblem(path, line, 1, "pycep-parser", "unterminated ''' multi-line string")]
    try:
        _pycep_parser().parse(text=text)
    except UnexpectedInput as exc:
        first = str(exc).strip().splitlines()[0]
        return [SyntaxProblem(path, exc.line, exc.column, "pycep-parser", first)]
    return []


def check_file(path: Path) -> list[SyntaxProblem]:
    """Both parsers' problems for one file (empty when the file parses)."""
    source = path.read_bytes()
    return tree_sitter_problems(path, source) + pycep_problems(path, source.decode("utf-8"))


def check_files(paths: list[Path]) -> list[SyntaxProblem]:
    problems: list[SyntaxProblem] = []
    for path in paths:
        problems.extend(check_file(path))
    return problems
