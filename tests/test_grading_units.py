"""Units of the grader: the safe wire format and the delegation check."""
import numpy as np
import pytest

from backprop_lab.grading import delegation, protocol


@pytest.mark.parametrize("value", [2.5, np.float64(2.5), np.array(3.0), np.zeros((2, 0, 3)),
                                   np.arange(6).reshape(2, 3).T, (1, [2.0, {"a": np.int32(4)}]), None, "s"])
def test_protocol_round_trip_keeps_shape_and_type(value):
    back = protocol.decode(protocol.encode(value))
    assert type(back) is type(value) or isinstance(value, np.generic)
    assert np.shape(back) == np.shape(value) if not isinstance(value, tuple) else back == (1, [2.0, {"a": 4}])


def test_protocol_never_unpickles():
    assert isinstance(protocol.decode(protocol.encode(np.array([object()]))), protocol.Opaque)
    with pytest.raises(ValueError):
        protocol.decode({"__nd__": "object", "shape": [1], "b64": ""})
    with pytest.raises(ValueError):
        protocol.decode({"__pickle__": "gASV"})


NB = ["import numpy as np\nimport backprop_lab as bl\nfrom backprop_lab.rules import Mul as M"]


@pytest.mark.parametrize("cell,flag", [
    ("def f(a, b, g):\n    return g * b, g * a", None),
    ("def f(a, b, g):\n    return M.backward(None, g)", "backprop_lab.rules.Mul.backward"),
    ("def f(a, b, g):\n    return bl.Tensor(a).data", "backprop_lab.Tensor"),
    ("def f(a, b, g):\n    m = __import__('backprop' + '_lab')\n    return m", "dynamic code: __import__"),
    ("def f(a, b, g):\n    import backprop_lab.rules as r\n    return r.Mul", "backprop_lab.rules"),
])
def test_delegation_flags_engine_use_beyond_the_release(cell, flag):
    released = "class Scaffold(bl.Function):\n    pass"
    found = delegation.check_cell(released + "\n" + cell, released, NB + [cell], [])
    assert (flag is None and not found) or any(flag in f for f in found), found


def test_delegation_follows_a_helper_in_an_added_cell():
    helper = "def helper(a):\n    return bl.Tensor(a).exp().data"
    assert delegation.check_cell("def f(a):\n    return helper(a)", "def f(a):\n    raise NotImplementedError",
                                 NB + [helper], [helper])
    assert not delegation.check_cell("def f(a):\n    return np.exp(a)", None, NB, [helper])
