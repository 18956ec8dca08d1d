"""Formula custom fields: parse, check, order and evaluate - never with `eval`.

A formula is an arithmetic expression over `{field_key}` references, e.g.
`{estimated_hours} * {rate}` or `if({estimated_hours} > 8, 1, 0)`. References name a built-in
numeric task field (BUILTIN_NUMERIC) or another number/formula custom field of the project.

Safety: the expression is parsed with `ast` and every node is checked against a whitelist
(numbers, arithmetic, comparisons, and/or/not, min/max/round/abs/if) before simpleeval
evaluates it with the same restricted operators and functions. Evaluation never raises:
any error (division by zero, overflow, bad types) yields `(None, "<marker>")`.
"""

import ast
import math
import operator
import re
from collections.abc import Iterable

from simpleeval import SimpleEval

BUILTIN_NUMERIC = ("estimated_hours", "priority", "position")
REF_RE = re.compile(r"\{([a-z][a-z0-9_]{0,39})\}")
_IF_RE = re.compile(r"\bif\s*\(")
_PREFIX = "v_"
MAX_EXPONENT = 64
MAX_MAGNITUDE = 1e15

_BIN_OPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: None,  # filled below with a bounded power
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
    ast.Not: operator.not_,
}


class FormulaError(ValueError):
    """The formula text itself is unacceptable (syntax, forbidden construct, unknown reference)."""


def _num(value):
    if isinstance(value, bool):
        return int(value)
    if not isinstance(value, (int, float)):
        raise TypeError("not a number")
    return value


def _pow(a, b):
    a, b = _num(a), _num(b)
    if abs(b) > MAX_EXPONENT:
        raise OverflowError("exponent too large")
    return float(a) ** b


def _if(condition, then, otherwise=None):
    return then if condition else otherwise


def _round(value, digits=0):
    digits = int(_num(digits))
    if not -10 <= digits <= 10:
        raise ValueError("round() digits out of range")
    return round(_num(value), digits)


def _min(*args):
    return min(_num(a) for a in args)


def _max(*args):
    return max(_num(a) for a in args)


def _abs(value):
    return abs(_num(value))


_BIN_OPS[ast.Pow] = _pow
FUNCTIONS = {"min": _min, "max": _max, "round": _round, "abs": _abs, "if_": _if}
_ALLOWED_NODES = (
    ast.Expression,
    ast.BinOp,
    ast.UnaryOp,
    ast.BoolOp,
    ast.Compare,
    ast.IfExp,
    ast.Call,
    ast.Name,
    ast.Load,
    ast.Constant,
    ast.And,
    ast.Or,
    *tuple(_BIN_OPS),
)


def references(formula: str) -> list[str]:
    """Field keys a formula refers to, in order of first appearance."""
    seen: dict[str, None] = {}
    for key in REF_RE.findall(formula or ""):
        seen.setdefault(key, None)
    return list(seen)


def _to_python(formula: str) -> str:
    # {key} -> v_key (a plain name simpleeval can look up); if( -> if_( since `if` is a keyword.
    return _IF_RE.sub("if_(", REF_RE.sub(lambda m: _PREFIX + m.group(1), formula))


def parse(formula: str) -> ast.Expression:
    """Parse and whitelist-check a formula; raise FormulaError with a readable reason."""
    if not isinstance(formula, str) or not formula.strip():
        raise FormulaError("A formula is required.")
    if len(formula) > 500:
        raise FormulaError("A formula may be at most 500 characters.")
    if "{" in REF_RE.sub("", formula) or "}" in REF_RE.sub("", formula):
        raise FormulaError("References look like {field_key} (lower-case letters, digits, underscores).")
    try:
        tree = ast.parse(_to_python(formula), mode="eval")
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        raise FormulaError("The formula is not a valid expression.") from None
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED_NODES):
            raise FormulaError(f"'{type(node).__name__}' is not allowed in formulas.")
        if isinstance(node, ast.Constant) and (isinstance(node.value, (str, bytes, complex)) or node.value is None):
            raise FormulaError("Only numbers are allowed as constants.")
        if isinstance(node, ast.Call) and (
            not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS or node.keywords
        ):
            raise FormulaError("Only min, max, round, abs and if may be called.")
        if isinstance(node, ast.Name) and node.id not in FUNCTIONS and not node.id.startswith(_PREFIX):
            raise FormulaError(f"Unknown name '{node.id}': refer to fields as {{key}}.")
    return tree


def validate(formula: str, allowed_refs: Iterable[str]) -> list[str]:
    """Check syntax and that every reference is allowed; return the references."""
    parse(formula)
    refs = references(formula)
    allowed = set(allowed_refs)
    unknown = [r for r in refs if r not in allowed]
    if unknown:
        raise FormulaError(f"Unknown field(s): {', '.join(unknown)}.")
    return refs


def find_cycle(graph: dict[str, list[str]]) -> list[str] | None:
    """A cycle in key -> [referenced keys] as a path with first == last, or None."""
    WHITE, GREY, BLACK = 0, 1, 2
    color = dict.fromkeys(graph, WHITE)
    for start in graph:
        if color[start] != WHITE:
            continue
        stack = [(start, iter(graph.get(start, ())))]
        path = [start]
        color[start] = GREY
        while stack:
            node, children = stack[-1]
            advanced = False
            for child in children:
                if child not in graph:
                    continue
                if color[child] == GREY:
                    return path[path.index(child) :] + [child]
                if color[child] == WHITE:
                    color[child] = GREY
                    stack.append((child, iter(graph.get(child, ()))))
                    path.append(child)
                    advanced = True
                    break
            if not advanced:
                color[node] = BLACK
                stack.pop()
                path.pop()
    return None


def evaluation_order(formulas: dict[str, str]) -> list[str]:
    """Formula keys ordered so each comes after the formulas it uses (assumes no cycle)."""
    graph = {k: [r for r in references(f) if r in formulas] for k, f in formulas.items()}
    order: list[str] = []
    done: set[str] = set()

    def visit(key, depth=0):
        if key in done or depth > len(graph):
            return
        for ref in graph[key]:
            visit(ref, depth + 1)
        done.add(key)
        order.append(key)

    for key in graph:
        visit(key)
    return order


def _make_evaluator(names: dict) -> SimpleEval:
    evaluator = SimpleEval(operators=dict(_BIN_OPS), functions=dict(FUNCTIONS), names=names)
    return evaluator


def evaluate(formula: str, values: dict) -> tuple[float | None, str | None]:
    """Evaluate with `values` (key -> number or None). Never raises.

    Returns (value, None) on success, (None, None) when an input is empty, and
    (None, marker) when the formula fails (e.g. "division_by_zero", "error").
    """
    try:
        parse(formula)
        refs = references(formula)
        names = {}
        for ref in refs:
            value = values.get(ref)
            if value is None or value == "":
                return None, None
            if isinstance(value, bool):
                value = int(value)
            value = float(value)
            if not math.isfinite(value):
                return None, "invalid_input"
            names[_PREFIX + ref] = value
        result = _make_evaluator(names).eval(_to_python(formula))
        if result is None:
            return None, None
        result = float(_num(result))
        if not math.isfinite(result) or abs(result) > MAX_MAGNITUDE:
            return None, "overflow"
        return round(result, 6), None
    except ZeroDivisionError:
        return None, "division_by_zero"
    except OverflowError:
        return None, "overflow"
    except FormulaError:
        return None, "invalid_formula"
    except Exception:  # any other failure is the formula's fault, never a 500
        return None, "error"


def compute(fields: list, task_values: dict) -> tuple[dict, dict]:
    """Recompute every formula field of a project for one task.

    `fields`: CustomField rows; `task_values`: built-in numbers + current custom values.
    Returns (formula values by key, error markers by key).
    """
    formulas = {f.key: f.formula for f in fields if f.type == "formula"}
    values = dict(task_values)
    results: dict = {}
    errors: dict = {}
    for key in evaluation_order(formulas):
        value, marker = evaluate(formulas[key], values)
        values[key] = value
        results[key] = value
        if marker:
            errors[key] = marker
    return results, errors
