"""Module API: registration, iteration, state_dict, hooks, modes, to(), repr, containers."""

from __future__ import annotations

import copy
import pickle
from collections import OrderedDict

import ember
import ember.nn.functional as F
import numpy as np
import pytest
from ember import nn


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), (2, 2))
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = ember.flatten(x, 1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


LENET_REPR = """LeNet(
  (conv1): Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1))
  (conv2): Conv2d(6, 16, kernel_size=(5, 5), stride=(1, 1))
  (fc1): Linear(in_features=400, out_features=120, bias=True)
  (fc2): Linear(in_features=120, out_features=84, bias=True)
  (fc3): Linear(in_features=84, out_features=10, bias=True)
)"""


def test_lenet_repr_and_params():
    net = LeNet()
    assert repr(net) == LENET_REPR
    params = list(net.parameters())
    assert len(params) == 10 and params[0].shape == (6, 1, 5, 5)
    assert sum(p.numel() for p in params) == 61706  # the PyTorch tutorial's count
    assert net(ember.randn(1, 1, 32, 32)).shape == (1, 10)


def test_nested_repr():
    seq = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.ReLU(), nn.Dropout(0.5)))
    assert repr(seq) == ("Sequential(\n  (0): Linear(in_features=2, out_features=3, bias=True)\n"
                         "  (1): Sequential(\n    (0): ReLU()\n    (1): Dropout(p=0.5, inplace=False)\n  )\n)")
    ml = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    assert repr(ml) == "ModuleList(\n  (0-2): 3 x Linear(in_features=2, out_features=2, bias=True)\n)"


def test_registration_and_iteration():
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Parameter(ember.zeros(2))
            self.register_buffer("buf", ember.ones(3))
            self.register_buffer("tmp", ember.ones(1), persistent=False)
            self.sub = nn.Linear(2, 2)
            self.shared = self.sub
            self.plain = 5

    m = M()
    assert [n for n, _ in m.named_parameters()] == ["a", "sub.weight", "sub.bias"]
    assert [n for n, _ in m.named_parameters(remove_duplicate=False)] == \
        ["a", "sub.weight", "sub.bias", "shared.weight", "shared.bias"]
    assert [n for n, _ in m.named_parameters(prefix="net", recurse=False)] == ["net.a"]
    assert [n for n, _ in m.named_buffers()] == ["buf", "tmp"]
    assert [n for n, _ in m.named_children()] == ["sub"]
    assert [n for n, _ in m.named_modules()] == ["", "sub"]
    assert list(m.state_dict()) == ["a", "buf", "sub.weight", "sub.bias", "shared.weight", "shared.bias"]
    assert m.get_submodule("sub") is m.sub and m.get_parameter("sub.bias") is m.sub.bias
    assert "sub" in dir(m) and "buf" in dir(m)
    del m.sub
    assert "sub" not in dict(m.named_children()) and m.shared is not None
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        _ = m.nope
    with pytest.raises(TypeError, match="cannot assign"):
        m.a = ember.zeros(2)
    m.a = None
    assert m.a is None
    m.add_module("extra", nn.ReLU())
    assert isinstance(m.extra, nn.ReLU)
    with pytest.raises(KeyError):
        m.register_buffer("a.b", ember.zeros(1))


def test_parameter():
    p = nn.Parameter(ember.tensor([1.0, 2.0]))
    assert p.requires_grad and isinstance(p, ember.Tensor) and p.is_leaf
    assert repr(p) == "Parameter containing:\ntensor([1., 2.], requires_grad=True)"
    t = ember.zeros(2)
    q = nn.Parameter(t, requires_grad=False)
    q.data.add_(1.0)
    assert t.tolist() == [1.0, 1.0]  # shares storage
    assert not q.requires_grad
    d = copy.deepcopy(p)
    assert isinstance(d, nn.Parameter) and d.requires_grad and d.tolist() == [1.0, 2.0]
    r = pickle.loads(pickle.dumps(p))
    assert isinstance(r, nn.Parameter) and r.tolist() == [1.0, 2.0]


def test_state_dict_round_trip_and_strict_errors():
    a, b = LeNet(), LeNet()
    res = b.load_state_dict(a.state_dict())
    assert res.missing_keys == [] and res.unexpected_keys == []
    assert repr(res) == "<All keys matched successfully>"
    for (na, pa), (nb, pb) in zip(a.named_parameters(), b.named_parameters()):
        assert na == nb and np.array_equal(pa.detach().numpy(), pb.detach().numpy())
    sd = a.state_dict()
    assert not sd["fc1.weight"].requires_grad
    assert a.state_dict(keep_vars=True)["fc1.weight"] is a.fc1.weight
    sd2 = OrderedDict(sd)
    del sd2["fc3.bias"]
    sd2["extra.weight"] = ember.zeros(1)
    with pytest.raises(RuntimeError) as e:
        b.load_state_dict(sd2)
    assert str(e.value) == ('Error(s) in loading state_dict for LeNet:\n\tMissing key(s) in state_dict: "fc3.bias". '
                            '\n\tUnexpected key(s) in state_dict: "extra.weight". ')
    res = b.load_state_dict(sd2, strict=False)
    assert res.missing_keys == ["fc3.bias"] and res.unexpected_keys == ["extra.weight"]

    class Net(nn.Module):
        def __init__(self, n):
            super().__init__()
            self.fc = nn.Linear(n, 2)

    with pytest.raises(RuntimeError) as e:
        Net(3).load_state_dict(Net(4).state_dict())
    assert str(e.value) == ("Error(s) in loading state_dict for Net:\n\tsize mismatch for fc.weight: copying a param "
                            "with shape ember.Size([2, 4]) from checkpoint, the shape in current model is "
                            "ember.Size([2, 3]).")


def test_batchnorm_state_dict_buffers():
    bn = nn.BatchNorm1d(3)
    bn(ember.randn(4, 3))
    bn2 = nn.BatchNorm1d(3)
    bn2.load_state_dict(bn.state_dict())
    assert bn2.num_batches_tracked.item() == 1
    assert np.allclose(bn2.running_mean.numpy(), bn.running_mean.numpy())


def test_hooks():
    lin = nn.Linear(2, 2)
    calls = []
    h1 = lin.register_forward_pre_hook(lambda m, args: calls.append("pre") or (args[0] * 0,))
    h2 = lin.register_forward_hook(lambda m, args, out: calls.append("post") or out + 1)
    out = lin(ember.ones(1, 2))
    assert calls == ["pre", "post"]
    assert np.allclose(out.detach().numpy(), lin.bias.detach().numpy() + 1)
    h1.remove()
    h2.remove()
    calls.clear()
    lin(ember.ones(1, 2))
    assert calls == []
    seen = []
    lin.register_forward_hook(lambda m, a, k, o: seen.append(sorted(k)), with_kwargs=True)
    lin(input=ember.ones(1, 2))
    assert seen == [["input"]]


def test_train_eval_zero_grad_requires_grad():
    net = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
    assert net.training and net[1].training
    net.eval()
    assert not net.training and not net[1].training
    net.train()
    assert net[1].training
    net(ember.ones(3, 2)).sum().backward()
    assert net[0].weight.grad is not None
    net.zero_grad(set_to_none=False)
    assert net[0].weight.grad.abs().sum().item() == 0
    net.zero_grad()
    assert net[0].weight.grad is None
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())
    counted = []
    net.apply(lambda m: counted.append(type(m).__name__))
    assert counted == ["Linear", "Dropout", "Sequential"]


def test_to_keeps_parameter_identity(device):
    net = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    w = net[0].weight
    net(ember.randn(4, 2)).sum().backward()
    net.to(ember.float64)
    assert net[0].weight is w and w.dtype == ember.float64 and w.grad.dtype == ember.float64
    assert net[1].running_mean.dtype == ember.float64
    assert net[1].num_batches_tracked.dtype == ember.int64  # integer buffers keep their dtype
    net.to(device)
    assert net[0].weight is w and w.device.type == device and w.grad.device.type == device
    net.float().cpu()
    assert w.dtype == ember.float32 and w.device.type == "cpu" and isinstance(w, nn.Parameter)
    net.to(ember.zeros(1, dtype=ember.float64))
    assert w.dtype == ember.float64
    with pytest.raises(TypeError):
        net.to(ember.int64)


def test_deepcopy_and_pickle_module():
    net = LeNet()
    h = net.register_forward_hook(lambda m, a, o: None)
    net2 = copy.deepcopy(net)
    h.remove()
    assert net2.conv1.weight is not net.conv1.weight
    assert np.array_equal(net2.conv1.weight.detach().numpy(), net.conv1.weight.detach().numpy())
    assert isinstance(net2.conv1.weight, nn.Parameter)
    net3 = pickle.loads(pickle.dumps(nn.Linear(2, 2)))
    assert isinstance(net3.weight, nn.Parameter)


def test_containers():
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert len(seq) == 3 and isinstance(seq[-1], nn.Linear)
    sub = seq[:2]
    assert isinstance(sub, nn.Sequential) and len(sub) == 2 and sub[0] is seq[0]
    seq.append(nn.Sigmoid())
    assert len(seq) == 4 and seq(ember.randn(5, 2)).shape == (5, 1)
    od = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.Tanh())]))
    assert od.fc is od[0] and [n for n, _ in od.named_parameters()] == ["fc.weight", "fc.bias"]
    ml = nn.ModuleList([nn.Linear(1, 1)])
    ml.append(nn.Linear(1, 2))
    ml.extend([nn.ReLU()])
    assert len(ml) == 3 and len(list(ml.parameters())) == 4
    md = nn.ModuleDict({"a": nn.Linear(1, 1), "b": nn.ReLU()})
    assert list(md.keys()) == ["a", "b"] and "a" in md and len(list(md.parameters())) == 2
    pl = nn.ParameterList([ember.zeros(2), nn.Parameter(ember.ones(1))])
    assert len(pl) == 2 and isinstance(pl[0], nn.Parameter)
    assert [n for n, _ in pl.named_parameters()] == ["0", "1"]
    pd = nn.ParameterDict({"x": ember.zeros(3)})
    pd["y"] = nn.Parameter(ember.ones(1))
    assert list(pd.keys()) == ["x", "y"] and len(list(pd.parameters())) == 2
    assert repr(pl) == ("ParameterList(\n    (0): Parameter containing: [ember.float32 of size 2]\n"
                        "    (1): Parameter containing: [ember.float32 of size 1]\n)")  # PyTorch's layout
