"""The built-in calculator tool: arithmetic parsed with ``ast`` and evaluated from a whitelist.

Nothing is ever passed to ``eval``. Numbers, ``+ - * / // % **``, unary signs, parentheses
and a few functions and constants are allowed; everything else (names, attributes, calls
to anything else, strings, lambdas…) is refused before any work is done. Limits on the
expression's length and nesting and on every intermediate value's size keep
``9**9**9`` from taking the server down.
"""

from __future__ import annotations

import ast
import math
import operator
import warnings
from collections.abc import Callable
from typing import Final

MAX_EXPRESSION_CHARS: Final = 500
MAX_DEPTH: Final = 200
MAX_INT_BITS: Final = 1024
"""Integers beyond this size (about 1.8e308, the float range) are refused as too large."""
MAX_ROUND_DIGITS: Final = 400

Number = int | float

CALCULATOR_TOOL: Final = {
    "name": "calculator",
    "description": (
        "Evaluate an arithmetic expression exactly and return the result. Supports numbers, "
        "+ - * / // % ** and parentheses, the functions sqrt, abs, round, min, max, floor, "
        "ceil, log (natural, or log(x, base)), log10, exp, sin, cos, tan (radians) and the "
        "constants pi and e."
    ),
    "parameters": {
        "type": "object",
        "properties": {
            "expression": {
                "type": "string",
                "description": "The expression, for example (17.5 * 3 + 2) / 4 or sqrt(2) ** 3",
            }
        },
        "required": ["expression"],
        "additionalProperties": False,
    },
}
"""The tool's spec in the OpenAI function format (``name``, ``description``, ``parameters``)."""


class CalculatorError(ValueError):
    """An expression the calculator refuses or cannot evaluate; the message says why."""


def _power(base: Number, exponent: Number) -> Number:
    """``base ** exponent``, refused before it is computed when the result would be huge."""
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0 and abs(base) > 1:
        if exponent * math.log2(abs(base)) > MAX_INT_BITS:
            raise CalculatorError("result too large")
    return base**exponent


_BINARY: dict[type[ast.operator], Callable[[Number, Number], Number]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: _power,
}
_UNARY: dict[type[ast.unaryop], Callable[[Number], Number]] = {
    ast.UAdd: operator.pos,
    ast.USub: operator.neg,
}
_FUNCTIONS: dict[str, Callable[..., Number]] = {
    "sqrt": math.sqrt,
    "abs": abs,
    "round": round,
    "min": min,
    "max": max,
    "floor": math.floor,
    "ceil": math.ceil,
    "log": math.log,
    "log10": math.log10,
    "exp": math.exp,
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
}
_CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}
_SYMBOLS: dict[type[ast.AST], str] = {
    ast.BitXor: "^ (use ** for powers)",
    ast.BitAnd: "&",
    ast.BitOr: "|",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.MatMult: "@",
    ast.Invert: "~",
    ast.Not: "not",
}


def calculate(expression: str) -> str:
    """Evaluate ``expression`` and return the result as text.

    Integers (and floats that are whole and below 1e15) read without ``.0``; other floats
    have 15 significant digits. Raises ``CalculatorError`` for anything refused or failed.
    """
    if len(expression) > MAX_EXPRESSION_CHARS:
        raise CalculatorError(f"expression too long (over {MAX_EXPRESSION_CHARS} characters)")
    try:
        # Parsing warns about some refused inputs ("1 is 1", "'\\d'"); the refusal says enough.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(expression.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise CalculatorError(f"not an arithmetic expression: {expression.strip()!r}") from exc
    return _format(_evaluate(tree.body, 0))


def _evaluate(node: ast.AST, depth: int) -> Number:
    if depth > MAX_DEPTH:
        raise CalculatorError("expression too deeply nested")
    if isinstance(node, ast.Constant):
        if type(node.value) not in (int, float):
            raise CalculatorError(f"unsupported constant {node.value!r}")
        return _checked(node.value)
    if isinstance(node, ast.Name):
        if node.id not in _CONSTANTS:
            raise CalculatorError(f"unsupported name {node.id!r}")
        return _CONSTANTS[node.id]
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left = _evaluate(node.left, depth + 1)
        right = _evaluate(node.right, depth + 1)
        return _apply(type(node.op).__name__.lower(), _BINARY[type(node.op)], left, right)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_evaluate(node.operand, depth + 1))
    if isinstance(node, ast.Call):
        return _call(node, depth)
    raise CalculatorError(f"unsupported {_describe(node)}")


def _call(node: ast.Call, depth: int) -> Number:
    if not isinstance(node.func, ast.Name):
        raise CalculatorError(f"unsupported call of {_describe(node.func)}")
    name = node.func.id
    if name not in _FUNCTIONS:
        raise CalculatorError(f"unsupported function {name!r}")
    if node.keywords or any(isinstance(arg, ast.Starred) for arg in node.args):
        raise CalculatorError(f"{name}() takes plain arguments only")
    args = [_evaluate(arg, depth + 1) for arg in node.args]
    # round(x, n) with a huge int n computes 10 ** abs(n): bound n like any other size.
    if name == "round" and len(args) == 2:
        digits = args[1]
        if not isinstance(digits, int) or abs(digits) > MAX_ROUND_DIGITS:
            raise CalculatorError(
                f"round() takes a whole number of digits from -{MAX_ROUND_DIGITS} "
                f"to {MAX_ROUND_DIGITS}"
            )
    return _apply(name, _FUNCTIONS[name], *args)


def _apply(name: str, function: Callable[..., Number], *args: Number) -> Number:
    """Call ``function`` and turn every arithmetic failure into a ``CalculatorError``."""
    try:
        return _checked(function(*args))
    except ZeroDivisionError as exc:
        raise CalculatorError("division by zero") from exc
    except OverflowError as exc:
        raise CalculatorError("result too large") from exc
    except (TypeError, ValueError) as exc:
        if isinstance(exc, CalculatorError):
            raise
        raise CalculatorError(f"{name}: {exc}") from exc


def _checked(value: object) -> Number:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CalculatorError(f"result is not a real number: {value!r}")
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise CalculatorError("result too large")
    if isinstance(value, float) and not math.isfinite(value):
        raise CalculatorError("result too large")
    return value


def _format(value: Number) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        value = int(value)
    if isinstance(value, int):
        return str(value)
    return format(value, ".15g")


def _describe(node: ast.AST) -> str:
    if isinstance(node, ast.BinOp | ast.UnaryOp) and type(node.op) in _SYMBOLS:
        return f"operator {_SYMBOLS[type(node.op)]}"
    if isinstance(node, ast.Attribute):
        return f"attribute access .{node.attr}"
    if isinstance(node, ast.Compare):
        return "comparison"
    return f"syntax ({type(node).__name__})"
