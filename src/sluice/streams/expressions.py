"""JMESPath expressions for mappings: compiled once, evaluated per chunk, turned into text.

The stock ``jmespath`` evaluator builds an interpreter and walks a dict-shaped AST on
every call, which measured several times the cost of parsing the chunk itself. Most
expressions a mapping uses are plain chains of field and index steps
(``choices[0].delta.content``), so those are evaluated by ``walk``, a tight loop with
JMESPath's own semantics; the few conditions presets use (``!thought``,
``type == 'text'``) get the same treatment, and everything else falls back to the
compiled expression.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import jmespath
import orjson
from jmespath.exceptions import EmptyExpressionError, JMESPathError, JMESPathTypeError, ParseError
from jmespath.functions import Functions
from jmespath.visitor import TreeInterpreter

from sluice.errors import ExpressionError, StreamFormatError
from sluice.streams.types import JSONValue

if TYPE_CHECKING:
    from jmespath.visitor import _TreeNode

Step = str | int
"""A field name (``str``) or an array index (``int``, negative counts from the end)."""

_FUNCTIONS: dict[str, dict[str, Any]] = Functions.FUNCTION_TABLE
_JSON_TYPE_NAMES = {"NoneType": "null", "str": "string", "int": "number", "float": "number"}
_JSON_TYPE_NAMES |= {"bool": "boolean", "list": "array", "dict": "object"}


@dataclass(frozen=True, slots=True)
class Expression:
    """A compiled JMESPath expression; ``steps`` is set when it is a plain field/index chain."""

    text: str
    search: Callable[[JSONValue], JSONValue]
    steps: tuple[Step, ...] | None = None


def walk(value: JSONValue, steps: tuple[Step, ...]) -> JSONValue:
    """Follow a chain of steps with JMESPath semantics.

    A field of anything but an object is null, an index of anything but an array is
    null, and an index out of range is null.
    """
    for step in steps:
        if step.__class__ is str:
            if not isinstance(value, dict):
                return None
            value = value.get(step)
        elif isinstance(value, list) and -len(value) <= step < len(value):  # type: ignore[operator]  # step is an int here: the branch above took the str steps
            value = value[step]  # type: ignore[index]  # an int: str steps took the branch above
        else:
            return None
    return value


def is_truthy(value: JSONValue) -> bool:
    """JMESPath truth: false, null, and empty strings, arrays and objects are false; 0 is true."""
    if value is None or value is False:
        return False
    if isinstance(value, str | list | dict):
        return len(value) > 0
    return True


def to_text(value: JSONValue) -> str:
    """The text a mapped value says.

    null says nothing (``""``), a string is itself, a number or boolean its JSON text,
    an array the concatenation of its items by this same rule (null items skipped), and an
    object its compact JSON.
    """
    if value is None:
        return ""
    if value.__class__ is str:
        return value
    if isinstance(value, list):
        return "".join([to_text(item) for item in value])
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)  # exact for integers orjson cannot serialise (beyond 64 bits)
    return orjson.dumps(value).decode()


def compile_expression(text: str) -> Expression:
    """Compile ``text`` once; raise ``ExpressionError`` (with a 0-based position) when invalid.

    Function names and their argument counts are checked here too, so that a typo fails
    when the integration is loaded, not on the first chunk.
    """
    try:
        parsed = jmespath.compile(text)
    except EmptyExpressionError as exc:
        raise ExpressionError("the expression is empty", expression=text, position=0) from exc
    except ParseError as exc:
        position = exc.lex_position if isinstance(exc.lex_position, int) else None
        message = f"invalid JMESPath expression at position {position}: {_reason(exc)}"
        raise ExpressionError(message, expression=text, position=position) from exc
    node = parsed.parsed
    # The AST is a plain dict at runtime; read as such below (the stubs type it as a TypedDict).
    tree: dict[str, Any] = dict(node)
    _check_functions(tree, text)
    steps = _chain(tree)
    if steps is not None:
        chain = steps
        return Expression(text, lambda value: walk(value, chain), steps)
    condition = _condition(tree)
    if condition is not None:
        return Expression(text, condition)
    return Expression(text, _interpreted(node, text))


def _interpreted(node: _TreeNode, text: str) -> Callable[[JSONValue], JSONValue]:
    """The fallback: jmespath's interpreter (one per expression), its errors translated."""
    interpreter = TreeInterpreter()

    def search(value: JSONValue) -> JSONValue:
        try:
            return interpreter.visit(node, value)
        except JMESPathTypeError as exc:
            # The chunk's value stays out of the message: it may be conversation text.
            expected = " or ".join(exc.expected_types)
            actual = _JSON_TYPE_NAMES.get(exc.actual_type, exc.actual_type)
            message = f"{exc.function_name}() in {text!r} got a {actual}, not {expected}"
            raise StreamFormatError(message) from exc
        except JMESPathError as exc:
            raise StreamFormatError(f"the expression {text!r} failed on a chunk") from exc

    return search


def _reason(exc: ParseError) -> str:
    if exc.__class__.__name__ == "IncompleteExpressionError":
        return "the expression ends too early"
    detail = getattr(exc, "message", None) or exc.msg
    token = exc.token_value
    return f"{detail} (at {token!r})" if token else str(detail)


def _chain(node: dict[str, Any]) -> tuple[Step, ...] | None:
    """The steps of a plain field/index chain, or None when the expression is anything else."""
    kind = node["type"]
    if kind in ("field", "index"):
        return (node["value"],)
    if kind in ("identity", "current"):
        return ()
    if kind in ("subexpression", "index_expression"):
        steps: list[Step] = []
        for child in node["children"]:
            part = _chain(child)
            if part is None:
                return None
            steps += part
        return tuple(steps)
    return None


def _condition(node: dict[str, Any]) -> Callable[[JSONValue], bool] | None:
    """``!chain``, ``chain == 'text'`` and ``chain != 'text'`` as fast functions, else None."""
    kind = node["type"]
    if kind == "not_expression":
        steps = _chain(node["children"][0])
        if steps is not None:
            negated = steps
            return lambda value: not is_truthy(walk(value, negated))
    if kind == "comparator" and node["value"] in ("eq", "ne"):
        left, right = node["children"]
        steps = _chain(left)
        # Only string literals: JMESPath's == treats true and 1 as different, Python does not.
        if steps is not None and right["type"] == "literal" and isinstance(right["value"], str):
            compared, literal = steps, right["value"]
            if node["value"] == "eq":
                return lambda value: walk(value, compared) == literal
            return lambda value: walk(value, compared) != literal
    return None


def _check_functions(node: dict[str, Any], text: str) -> None:
    if node["type"] == "function_expression":
        name: str = node["value"]
        spec = _FUNCTIONS.get(name)
        found = re.search(rf"\b{re.escape(name)}\s*\(", text)
        position = found.start() if found else None
        if spec is None:
            message = f"unknown JMESPath function {name}() at position {position}"
            raise ExpressionError(message, expression=text, position=position)
        signature = spec["signature"]
        count = len(node["children"])
        is_variadic = bool(signature) and bool(signature[-1].get("variadic"))
        if count < len(signature) or (count > len(signature) and not is_variadic):
            message = f"{name}() takes {len(signature)} arguments, got {count}"
            raise ExpressionError(message, expression=text, position=position)
    for child in node.get("children", ()):
        if isinstance(child, dict):
            _check_functions(child, text)
