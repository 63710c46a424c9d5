"""Parity with PyTorch for the ``nn.Module`` API and containers, found by differential probing:
``Sequential``/``ModuleList`` insert/``+=``/``*=`` numbering, ``ModuleList`` repr labels, the module
tables' types, ``Buffer`` assignment through ``register_buffer``, ``Parameter`` of an integer
tensor, deep copies of parameters, full backward hooks (unused outputs, bad returns), and the
``Module`` instance/class attributes. Each case is a snippet run with ``t`` bound to torch and to
ember; its result ``r`` (values, strings, error type and message, with "ember" read as "torch") is
compared."""

from __future__ import annotations

import copy
import pickle
import warnings
from collections import OrderedDict

import ember
import numpy as np
import pytest

torch = pytest.importorskip("torch")


def _norm(x):
    """A library-neutral description of a result."""
    if isinstance(x, (torch.Tensor, ember.Tensor)):
        vals = np.round(np.asarray(x.detach().float().tolist(), dtype=float), 4)
        return ("T", str(x.dtype).split(".")[-1], tuple(x.shape), vals.tolist())
    if isinstance(x, (torch.dtype, ember.dtype)):
        return str(x).split(".")[-1]
    if isinstance(x, (torch.nn.Module, ember.nn.Module)):
        return ("M", repr(x).replace("ember", "torch"))
    if isinstance(x, str):
        return x.replace("ember", "torch")
    if isinstance(x, dict):
        return (tuple((k, _norm(v)) for k, v in x.items()),)
    if isinstance(x, (list, tuple)):
        return tuple(_norm(v) for v in x)
    return x


def _run(src: str, lib):
    g = {"t": lib, "nn": lib.nn, "copy": copy, "pickle": pickle, "OrderedDict": OrderedDict}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            exec(src, g)
            return _norm(g.get("r"))
        except Exception as e:  # noqa: BLE001 - the error is the result compared
            return ("ERR", type(e).__name__, str(e).replace("ember", "torch"))


SEQ3 = "s = nn.Sequential(nn.ReLU(), nn.Tanh(), nn.Sigmoid()); "
NAMED = 's = nn.Sequential(OrderedDict([("a", nn.ReLU()), ("b", nn.Tanh()), ("c", nn.ELU())])); '
LIST3 = "l = nn.ModuleList([nn.ReLU(), nn.Tanh(), nn.ELU()]); "
TWO_IN = ("class M(nn.Module):\n    def forward(self, a, b): return a * 2 + b * 3\nm = M()\n"
          "a = t.ones(2, requires_grad=True)\n")
TWO_OUT = ("class M(nn.Module):\n    def forward(self, a): return a * 2, a * 3\nm = M()\n"
           "a = t.ones(2, requires_grad=True)\n")
LIN = "m = nn.Linear(2, 2); x = t.ones(1, 2, requires_grad=True); "

CASES = {
    # Sequential: insert shifts numbered keys (a named Sequential raises KeyError, as PyTorch)
    "seq_insert_front": SEQ3 + "s.insert(0, nn.ELU()); r = [list(s._modules), repr(s)]",
    "seq_insert_negative": SEQ3 + "s.insert(-1, nn.ELU()); r = repr(s)",
    "seq_insert_end": SEQ3 + "s.insert(3, nn.ELU()); r = repr(s)",
    "seq_insert_out_of_range": SEQ3 + "s.insert(5, nn.ELU())",
    "seq_insert_not_module": SEQ3 + "s.insert(0, 3)",
    "seq_insert_named": NAMED + "s.insert(1, nn.ReLU()); r = list(s._modules)",
    "seq_insert_named_end": NAMED + "s.insert(3, nn.ReLU()); r = list(s._modules)",
    "seq_iadd_in_place": "a = nn.Sequential(nn.ReLU()); b = a; a += nn.Sequential(nn.Tanh()); r = [repr(a), a is b]",
    "seq_iadd_list": "a = nn.Sequential(nn.ReLU()); a += [nn.Tanh()]",
    "seq_iadd_shares": "a = nn.Sequential(nn.ReLU()); o = nn.Sequential(nn.Tanh()); a += o; r = a[1] is o[0]",
    "seq_imul": "a = nn.Sequential(nn.ReLU(), nn.Tanh()); b = a; a *= 3; r = [list(a._modules), a is b, a[4] is a[0]]",
    "seq_imul_named": NAMED + "s *= 2",
    "seq_imul_zero": "a = nn.Sequential(nn.ReLU()); a *= 0",
    "seq_mul_float": "a = nn.Sequential(nn.ReLU()); r = a * 1.5",
    "seq_del_named_renumbers": NAMED + "del s[0]; r = list(s._modules)",
    "seq_pop_negative": SEQ3 + "m = s.pop(-1); r = [type(m).__name__, list(s._modules)]",
    "seq_slice_step": SEQ3 + "r = [type(s[::2]).__name__, list(s[::-1]._modules)]",
    "seq_index_errors": SEQ3 + "r = s[3]",
    # ModuleList: insert as PyTorch's (index past the end keeps its number, negative raises)
    "list_insert_middle": LIST3 + "l.insert(1, nn.Sigmoid()); r = [list(l._modules), repr(l)]",
    "list_insert_negative": LIST3 + "l.insert(-1, nn.Sigmoid())",
    "list_insert_far_negative": LIST3 + "l.insert(-10, nn.Sigmoid())",
    "list_insert_past_end": LIST3 + "l.insert(10, nn.Sigmoid()); r = [list(l._modules), len(l), repr(l)]",
    "list_insert_returns_none": LIST3 + "r = l.insert(0, nn.Sigmoid())",
    "list_repr_positions": LIST3 + "l.insert(7, nn.ELU()); r = repr(l)",
    "list_repr_runs": "r = repr(nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 2), nn.Linear(2, 3), nn.Linear(2, 3)]))",
    "list_pop_slice": LIST3 + "m = l.pop(slice(0, 2)); r = [type(m).__name__, repr(l)]",
    # the modules' own tables are plain dicts, as PyTorch 2's
    "table_types": "m = nn.Linear(2, 2); r = [type(m._parameters).__name__, type(m._buffers).__name__, "
                   "type(m._modules).__name__, type(m._forward_hooks).__name__, type(m._backward_pre_hooks).__name__]",
    "dict_views": 'd = nn.ModuleDict({"b": nn.ReLU()}); r = [type(d.keys()).__name__, type(d.values()).__name__]',
    "instance_dict": "m = nn.Module(); r = sorted(m.__dict__)",
    "t_destination": "r = [hasattr(nn.Module, 'T_destination'), 'T_destination' in dir(nn.Linear(1, 1))]",
    # buffers assigned as attributes go through register_buffer (its checks and overrides)
    "buffer_over_plain_attr": "m = nn.Module(); m.b = 3; m.b = nn.Buffer(t.ones(2))",
    "buffer_nonpersistent": "m = nn.Module(); m.b = nn.Buffer(t.ones(2), persistent=False); "
                            "r = [list(m._buffers), list(m.state_dict())]",
    "buffer_keeps_persistence": "m = nn.Module(); m.register_buffer('b', t.ones(1), persistent=False); "
                                "m.b = t.zeros(2); r = [list(m.state_dict()), m.b]",
    "buffer_override_seen": "class M(nn.Module):\n    def register_buffer(self, name, tensor, persistent=True):\n"
                            "        self.seen = (name, persistent); super().register_buffer(name, tensor, persistent)\n"
                            "m = M(); m.register_buffer('b', t.ones(1)); del m.seen; m.b = t.zeros(1); r = m.seen",
    "buffer_override_no_persistent": "class M(nn.Module):\n    def register_buffer(self, name, tensor):\n"
                                     "        super().register_buffer(name, tensor, False)\n"
                                     "m = M(); m.b = nn.Buffer(t.ones(1), persistent=False)",
    "buffer_override_no_persistent_ok": "class M(nn.Module):\n    def register_buffer(self, name, tensor):\n"
                                        "        super().register_buffer(name, tensor, False)\n"
                                        "m = M(); m.b = nn.Buffer(t.ones(1)); r = [list(m._buffers), list(m.state_dict())]",
    "buffer_wrong_type": "m = nn.BatchNorm1d(2); m.running_mean = [1.0]",
    # Parameter of an integer tensor: PyTorch's capitalised message
    "param_int": "r = nn.Parameter(t.ones(2, dtype=t.int64))",
    "param_list_int": "r = nn.ParameterList([t.ones(2, dtype=t.int64)])",
    "param_int_no_grad": "r = nn.Parameter(t.ones(2, dtype=t.int64), requires_grad=False)",
    # deepcopy of a parameter: fresh, no grad, no attributes (tie kept by the memo)
    "deepcopy_drops_grad": "m = nn.Linear(2, 2); m(t.ones(1, 2)).sum().backward(); c = copy.deepcopy(m); "
                           "r = [c.weight.grad, c.weight.requires_grad, type(c.weight).__name__]",
    "deepcopy_tie_kept": "a = nn.Linear(2, 2); b = nn.Linear(2, 2); b.weight = a.weight; "
                         "c = copy.deepcopy(nn.Sequential(a, b)); r = [c[0].weight is c[1].weight, c[0].weight is a.weight]",
    "deepcopy_param_attrs": "p = nn.Parameter(t.ones(2)); p.foo = 1; r = hasattr(copy.deepcopy(p), 'foo')",
    "deepcopy_frozen": "m = nn.Linear(2, 2); m.weight.requires_grad_(False); c = copy.deepcopy(m); "
                       "r = [c.weight.requires_grad, c.bias.requires_grad]",
    "pickle_tie_kept": "a = nn.Linear(2, 2); b = nn.Linear(2, 2); b.weight = a.weight; "
                       "c = pickle.loads(pickle.dumps(nn.Sequential(a, b))); r = c[0].weight is c[1].weight",
    # full backward hooks: an unused output's gradient is None, an unused input's zeros
    "bw_hook_unused_output": TWO_OUT + "log = []\nm.register_full_backward_hook(lambda mod, gi, go: log.append(go))\n"
                                       "x, y = m(a); x.sum().backward(); r = [log, a.grad]",
    "bw_pre_hook_unused_output": TWO_OUT + "log = []\nm.register_full_backward_pre_hook(lambda mod, go: log.append(go))\n"
                                           "x, y = m(a); y.sum().backward(); r = [log, a.grad]",
    "bw_hook_input_no_grad": TWO_IN + "log = []\nm.register_full_backward_hook(lambda mod, gi, go: log.append(gi))\n"
                                      "m(a, t.ones(2)).sum().backward(); r = log",
    "bw_hook_replace_one": TWO_IN + "b = t.ones(2, requires_grad=True)\n"
                                    "m.register_full_backward_hook(lambda mod, gi, go: (gi[0] * 10, None))\n"
                                    "m(a, b).sum().backward(); r = [a.grad, b.grad]",
    # a hook's result is checked as PyTorch checks it
    "bw_hook_bare_tensor": LIN + "m.register_full_backward_hook(lambda mod, gi, go: gi[0] * 0); m(x).sum().backward()",
    "bw_pre_hook_bare_tensor": LIN + "m.register_full_backward_pre_hook(lambda mod, go: go[0] * 0); m(x).sum().backward()",
    "bw_hook_wrong_size": LIN + "m.register_full_backward_hook(lambda mod, gi, go: (gi[0][:, :1],)); m(x).sum().backward()",
    "bw_pre_hook_wrong_size": LIN + "m.register_full_backward_pre_hook(lambda mod, go: (go[0][:, :1],)); "
                                    "m(x).sum().backward()",
    "bw_hook_wrong_type": LIN + "m.register_full_backward_hook(lambda mod, gi, go: (gi[0].double(),)); "
                                "m(x).sum().backward()",
    "bw_hook_list": LIN + "m.register_full_backward_hook(lambda mod, gi, go: [gi[0] * 0]); m(x).sum().backward(); r = x.grad",
    "bw_pre_hook_list": LIN + "m.register_full_backward_pre_hook(lambda mod, go: [go[0] * 0]); m(x).sum().backward(); "
                              "r = [x.grad, m.bias.grad]",
    "bw_hook_wrong_count": LIN + "m.register_full_backward_hook(lambda mod, gi, go: (gi[0], gi[0])); m(x).sum().backward()",
    # named_modules' memo holds the modules themselves (a caller's memo skips them)
    "named_modules_memo": "s = nn.Sequential(nn.Linear(2, 2), nn.ReLU()); memo = {s[0]}; "
                          "r = [n for n, _ in s.named_modules(memo=memo)]",
    "named_modules_memo_filled": "s = nn.Sequential(nn.Linear(2, 2)); memo = set(); list(s.named_modules(memo)); "
                                 "r = [len(memo), s in memo, s[0] in memo]",
    # Parameter of a non-tensor: PyTorch's error
    "param_of_int": "r = nn.Parameter(3)",
    "param_of_list": "r = nn.Parameter([1.0])",
    # nn.Buffer: a plain tensor, flagged, keeping requires_grad and ``persistent``
    "buffer_isinstance": "r = [isinstance(nn.Buffer(t.ones(1)), nn.Buffer), isinstance(t.ones(1), nn.Buffer), "
                         "type(nn.Buffer(t.ones(1))).__name__]",
    "buffer_requires_grad": "b = nn.Buffer(t.ones(2, requires_grad=True)); m = nn.Module(); m.b = b; "
                            "r = [b.requires_grad, b.is_leaf, m.b is b]",
    "buffer_persistent_attr": "r = [nn.Buffer(t.ones(1)).persistent, nn.Buffer(t.ones(1), persistent=False).persistent]",
    "buffer_reassigned_elsewhere": "b = nn.Buffer(t.ones(1), persistent=False); m = nn.Module(); m.b = b; "
                                   "n = nn.Module(); n.c = b; r = [list(n._buffers), list(n.state_dict())]",
    # call_super_init: Module.__init__ passes the rest up the MRO, as PyTorch's
    "call_super_init_mixin": "class A:\n    def __init__(self, **kw): self.kw = kw\n"
                             "class M(nn.Module, A):\n    call_super_init = True\n"
                             "    def __init__(self):\n        super().__init__(k=1)\nr = M().kw",
    "call_super_init_object": "class M(nn.Module):\n    call_super_init = True\n"
                              "    def __init__(self, a):\n        super().__init__(a)\nr = M(1)",
    "no_call_super_init_args": "class M(nn.Module):\n    def __init__(self, a):\n        super().__init__(a)\nr = M(1)",
    # Module.to takes no copy argument; a parameter's data cannot turn integer
    "to_copy_kw": "r = nn.Linear(2, 2).to(copy=False)",
    "to_copy_positional": "r = nn.Linear(2, 2).to(t.float64, False, True)",
    "to_non_blocking": "r = nn.Linear(2, 2).to('cpu', t.float64, True).weight.dtype",
    "type_int": "r = nn.Linear(2, 2).type(t.int32)",
    "param_data_int": "p = nn.Parameter(t.ones(2)); p.data = t.ones(2, dtype=t.int32)",
    "frozen_param_data_int": "p = nn.Parameter(t.ones(2), requires_grad=False); p.data = t.ones(2, dtype=t.int32); "
                             "r = p.dtype",
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_module_api_matches_torch(name):
    src = CASES[name]
    assert _run(src, ember) == _run(src, torch)
