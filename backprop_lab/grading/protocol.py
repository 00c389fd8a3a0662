"""Plain data across the grader/worker boundary: JSON with base64 arrays, never pickle.

The worker runs student code, so everything it sends back is untrusted: a submission can write any
bytes to the worker's end of the pipe. ``decode`` turns a value back into numbers, strings, lists,
tuples, dicts, numeric ndarrays and a small ``Opaque`` stand-in, and ``event`` checks a whole message
field by field; anything else raises ``ProtocolError`` (a ``ValueError``), which costs the
submission that sent it and nothing else.
"""
from __future__ import annotations

import base64
import binascii
import json
import math
from typing import Any

import numpy as np

DTYPES = {"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
          "float16", "float32", "float64", "complex64", "complex128"}
MAX_DEPTH = 32
MAX_TEXT = 4000                 # characters kept of any text a worker sends (errors, reprs)
CELL_STATUSES = {"ok", "error", "todo", "timeout", "syntax-error", "memory"}
CASE_KINDS = {"ok", "todo", "error", "timeout", "memory", "too-large"}


class ProtocolError(ValueError):
    """A message or value from a worker that is not what the protocol allows; says what was wrong."""


class Opaque:
    """What an answer that is not plain data becomes in the grader: its type name and repr, and maybe ``.data``."""

    def __init__(self, type_name: str, text: str, data: Any = None, has_data: bool = False):
        self.type_name, self.text = type_name, text
        if has_data:
            self.data = data

    def __repr__(self) -> str:
        return f"<{self.type_name}: {self.text}>"


def encode(x: Any, depth: int = 0) -> Any:
    """Turn plain data (and engine objects, through their ``.data``) into JSON-safe values."""
    if depth > MAX_DEPTH:
        return {"__opaque__": "nested too deep", "text": ""}
    if x is None or type(x) in (bool, str):
        return x
    if type(x) is int:
        return x if abs(x) < 2**62 else float(x)
    if type(x) is float:
        return x if math.isfinite(x) else {"__float__": repr(x)}
    if isinstance(x, np.generic) and x.dtype.name in DTYPES:
        return encode(np.asarray(x), depth + 1) | {"scalar": True}
    if isinstance(x, np.ndarray):
        x = np.asarray(x)       # a subclass (np.matrix, a memmap) is judged by its values and shape
        if x.dtype.name not in DTYPES:
            return {"__opaque__": f"ndarray of {x.dtype}", "text": _short(x)}
        arr = x.copy(order="C")            # not ascontiguousarray: it turns shape () into (1,)
        return {"__nd__": arr.dtype.name, "shape": list(x.shape),
                "b64": base64.b64encode(arr.tobytes()).decode("ascii")}
    if type(x) in (list, tuple):
        items = [encode(v, depth + 1) for v in x]
        return items if type(x) is list else {"__tuple__": items}
    if type(x) is dict and all(type(k) is str for k in x):
        return {"__dict__": {k: encode(v, depth + 1) for k, v in x.items()}}
    if isinstance(x, (bool, int, float, str)):           # subclasses: keep only the plain value
        return encode({bool: bool, int: int, float: float, str: str}[next(
            t for t in (bool, int, float, str) if isinstance(x, t))](x), depth + 1)
    out = {"__opaque__": type(x).__name__, "text": _short(x)}
    data = getattr(x, "data", None) if not isinstance(x, (bytes, memoryview)) else None
    if data is not None and (isinstance(data, np.ndarray) or type(data) in (float, int, list, tuple)):
        out["data"] = encode(data, depth + 1)
    return out


def _fields(x: dict, required: set, optional: set = frozenset()) -> None:
    keys = set(x)
    if not required <= keys or not keys <= required | optional:
        raise ProtocolError(f"unexpected fields {sorted(keys)} (allowed: {sorted(required | optional)})")


def decode(x: Any, depth: int = 0) -> Any:
    """The inverse of ``encode``; raises ``ProtocolError`` for anything it does not recognise."""
    if depth > MAX_DEPTH + 2:
        raise ProtocolError("answer nested too deep")
    if x is None or type(x) in (bool, int, str):
        return x
    if type(x) is float:
        if not math.isfinite(x):
            raise ProtocolError("a bare non-finite float")
        return x
    if type(x) is list:
        return [decode(v, depth + 1) for v in x]
    if type(x) is not dict:
        raise ProtocolError(f"unexpected value of type {type(x).__name__}")
    if "__nd__" in x:
        _fields(x, {"__nd__", "shape", "b64"}, {"scalar"})
        dtype, shape, b64 = x["__nd__"], x["shape"], x["b64"]
        if type(dtype) is not str or dtype not in DTYPES:
            raise ProtocolError(f"refused dtype {dtype!r}")
        if type(shape) is not list or len(shape) > 32 or not all(type(s) is int and 0 <= s for s in shape):
            raise ProtocolError(f"bad array shape {str(shape)[:80]}")
        if type(b64) is not str or x.get("scalar", False) not in (True, False):
            raise ProtocolError("bad array data")
        try:
            raw = base64.b64decode(b64, validate=True)
        except (binascii.Error, ValueError):
            raise ProtocolError("array data is not base64") from None
        itemsize = np.dtype(dtype).itemsize
        if len(raw) != itemsize * math.prod(shape):
            raise ProtocolError(f"array data of {len(raw)} bytes does not fit shape {tuple(shape)} of {dtype}")
        arr = np.frombuffer(raw, dtype=dtype).copy().reshape(shape)
        if x.get("scalar"):
            if arr.shape != ():
                raise ProtocolError("a scalar with a shape")
            return arr[()]
        return arr
    if "__tuple__" in x:
        _fields(x, {"__tuple__"})
        if type(x["__tuple__"]) is not list:
            raise ProtocolError("a tuple that is not a list")
        return tuple(decode(v, depth + 1) for v in x["__tuple__"])
    if "__dict__" in x:
        _fields(x, {"__dict__"})
        items = x["__dict__"]
        if type(items) is not dict:
            raise ProtocolError(f"a dict given as {type(items).__name__}")
        return {k: decode(v, depth + 1) for k, v in items.items()}
    if "__float__" in x:
        _fields(x, {"__float__"})
        if x["__float__"] not in ("nan", "inf", "-inf"):
            raise ProtocolError(f"bad special float {str(x['__float__'])[:20]!r}")
        return float(x["__float__"])
    if "__opaque__" in x:
        _fields(x, {"__opaque__", "text"}, {"data"})
        if type(x["__opaque__"]) is not str or type(x["text"]) is not str:
            raise ProtocolError("bad opaque value")
        has = "data" in x
        return Opaque(x["__opaque__"][:80], x["text"][:300], decode(x["data"], depth + 1) if has else None, has)
    raise ProtocolError("unrecognised value")


def dumps(msg: dict) -> bytes:
    return (json.dumps(msg, allow_nan=False, separators=(",", ":")) + "\n").encode()


def _short(x: Any) -> str:
    try:
        text = repr(x)
    except Exception as exc:  # a student's __repr__ may raise
        text = f"<repr raised {type(exc).__name__}>"
    return text[:300]


# ----------------------------------------------------------------------------- events

def _int(msg: dict, key: str) -> int:
    v = msg.get(key)
    if type(v) is not int:
        raise ProtocolError(f"{key} must be an integer, not {type(v).__name__}")
    return v


def _str(msg: dict, key: str, choices: set | None = None) -> str:
    v = msg.get(key)
    if type(v) is not str or (choices is not None and v not in choices):
        raise ProtocolError(f"{key} must be {'one of ' + str(sorted(choices)) if choices else 'a string'}, "
                            f"not {str(v)[:40]!r}")
    return v[:MAX_TEXT]


def event(line: bytes) -> dict:
    """One message line from a worker, checked field by field: a dict the grader can use as it is."""
    try:
        msg = json.loads(line)
    except (ValueError, RecursionError):
        raise ProtocolError("a message that is not JSON") from None
    if type(msg) is not dict:
        raise ProtocolError(f"a message that is a {type(msg).__name__}, not an object")
    ev = msg.get("ev")
    if ev in ("ready", "done"):
        _fields(msg, {"ev"})
        return {"ev": ev}
    if ev == "jail-failed":
        _fields(msg, {"ev", "error"})
        return {"ev": ev, "error": _str(msg, "error")}
    if ev == "cell":
        phase = _str(msg, "phase", {"start", "end"})
        if phase == "start":
            _fields(msg, {"ev", "i", "phase"})
            return {"ev": ev, "phase": phase, "i": _int(msg, "i")}
        _fields(msg, {"ev", "i", "phase", "status", "error"})
        return {"ev": ev, "phase": phase, "i": _int(msg, "i"), "status": _str(msg, "status", CELL_STATUSES),
                "error": _str(msg, "error")}
    if ev == "ex":
        phase = _str(msg, "phase", {"start", "end"})
        if phase == "start":
            _fields(msg, {"ev", "id", "phase"})
            return {"ev": ev, "phase": phase, "id": _str(msg, "id")}
        _fields(msg, {"ev", "id", "phase", "found"})
        if type(msg["found"]) is not bool:
            raise ProtocolError("found must be true or false")
        return {"ev": ev, "phase": phase, "id": _str(msg, "id"), "found": msg["found"]}
    if ev == "case":
        _fields(msg, {"ev", "id", "k", "kind", "value", "error", "sec"})
        sec = msg["sec"]
        if type(sec) not in (int, float) or not 0 <= sec < 1e6:
            raise ProtocolError(f"sec must be a number of seconds, not {str(sec)[:40]!r}")
        return {"ev": ev, "id": _str(msg, "id"), "k": _int(msg, "k"), "kind": _str(msg, "kind", CASE_KINDS),
                "value": msg["value"], "error": _str(msg, "error"), "sec": float(sec)}
    raise ProtocolError(f"unknown message {str(ev)[:40]!r}")
