"""Plain data across the grader/worker boundary: JSON with base64 arrays, never pickle.

The worker runs student code, so everything it sends back is untrusted. Pickle would
let a submission run code in the grader; this format can only ever decode to numbers,
strings, lists, tuples, dicts, numeric ndarrays and a small ``Opaque`` stand-in.
"""
from __future__ import annotations

import base64
import json
import math
from typing import Any

import numpy as np

DTYPES = {"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
          "float16", "float32", "float64", "complex64", "complex128"}
MAX_DEPTH = 32


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
    if type(x) is np.ndarray:
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
    if data is not None and type(data) in (np.ndarray, float, int, list, tuple):
        out["data"] = encode(data, depth + 1)
    return out


def decode(x: Any, depth: int = 0) -> Any:
    """The inverse of ``encode``; rejects anything it does not recognise."""
    if depth > MAX_DEPTH + 2:
        raise ValueError("answer nested too deep")
    if x is None or type(x) in (bool, int, float, str):
        return x
    if type(x) is list:
        return [decode(v, depth + 1) for v in x]
    if type(x) is not dict:
        raise ValueError(f"unexpected value of type {type(x).__name__}")
    if "__nd__" in x:
        dtype = x["__nd__"]
        if dtype not in DTYPES:
            raise ValueError(f"refused dtype {dtype!r}")
        shape = tuple(int(s) for s in x["shape"])
        arr = np.frombuffer(base64.b64decode(x["b64"]), dtype=dtype).copy()
        arr = arr.reshape(shape)
        return arr[()] if x.get("scalar") else arr
    if "__tuple__" in x:
        return tuple(decode(v, depth + 1) for v in x["__tuple__"])
    if "__dict__" in x:
        return {str(k): decode(v, depth + 1) for k, v in x["__dict__"].items()}
    if "__float__" in x:
        return float(x["__float__"])
    if "__opaque__" in x:
        has = "data" in x
        return Opaque(str(x["__opaque__"])[:80], str(x.get("text", ""))[:300],
                      decode(x["data"], depth + 1) if has else None, has)
    raise ValueError("unrecognised value")


def dumps(msg: dict) -> bytes:
    return (json.dumps(msg, allow_nan=False, separators=(",", ":")) + "\n").encode()


def _short(x: Any) -> str:
    try:
        text = repr(x)
    except Exception as exc:  # a student's __repr__ may raise
        text = f"<repr raised {type(exc).__name__}>"
    return text[:300]
