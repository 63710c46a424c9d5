"""Recurrent layers: ``RNN``, ``LSTM``, ``GRU`` and their cells, with PyTorch's parameter names,
gate order (LSTM i, f, g, o; GRU r, z, n), shapes and initialisation.

The input projection of a whole sequence is one matmul per layer (all directions); only the
hidden-state recurrence loops over time steps. An LSTM layer is a single autograd node
(``ember.nn._rnn.LSTMLayer``) running the fused ``lstm_cell`` kernels where the backend has them;
``proj_size`` (LSTM with projections, ``weight_hr_l{k}``) runs in that node too.

A ``PackedSequence`` input (``nn.utils.rnn.pack_padded_sequence``) is padded once (batch sorted by
length), the recurrence runs on the padded batch and at step t updates only the rows whose length
is greater than t (a ``where`` per step; the LSTM keeps its one node per layer), so each sequence's
final state is its state at its own last step and the reverse direction starts at that step. The
output is packed again and the final states follow the caller's batch order, as in PyTorch.

Example:
    >>> import ember
    >>> from ember import nn
    >>> lstm = nn.LSTM(4, 3, num_layers=2, batch_first=True, bidirectional=True)
    >>> out, (h, c) = lstm(ember.zeros(5, 7, 4))
    >>> out.shape, h.shape, c.shape
    (ember.Size([5, 7, 6]), ember.Size([4, 5, 3]), ember.Size([4, 5, 3]))
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ember.functions import creation as _c
from ember.functions import elementwise as _e
from ember.functions import shape as _s
from ember.nn import functional as F
from ember.nn import init
from ember.nn._rnn import lstm_layer
from ember.nn.modules.module import Module
from ember.nn.parameter import Parameter
from ember.nn.utils.rnn import PackedSequence, _lengths_from_batch_sizes, _pack_data, _pad_data, _scalar_name
from ember.tensor import Tensor

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}


def _autocast_enabled() -> bool:
    from ember.amp import autocast_mode

    return bool(autocast_mode._STATE.on)


def _rnn_step(x_proj: Tensor, h: Tensor, w_hh: Tensor, b_hh: Tensor | None, relu: bool) -> Tensor:
    pre = x_proj + F.linear(h, w_hh, b_hh)
    return pre.relu() if relu else pre.tanh()


def _lstm_step(x_proj: Tensor, h: Tensor, c: Tensor, w_hh: Tensor, b_hh: Tensor | None) -> tuple[Tensor, Tensor]:
    gates = x_proj + F.linear(h, w_hh, b_hh)
    i, f, g, o = gates.chunk(4, -1)
    c = f.sigmoid() * c + i.sigmoid() * g.tanh()
    return o.sigmoid() * c.tanh(), c


def _gru_step(x_proj: Tensor, h: Tensor, w_hh: Tensor, b_hh: Tensor | None) -> Tensor:
    gh = F.linear(h, w_hh, b_hh)
    xr, xz, xn = x_proj.chunk(3, -1)
    hr, hz, hn = gh.chunk(3, -1)
    r = (xr + hr).sigmoid()
    z = (xz + hz).sigmoid()
    n = (xn + r * hn).tanh()
    return n + z * (h - n)  # (1 - z) * n + z * h


class RNNBase(Module):
    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        if not isinstance(dropout, (int, float)) or not 0 <= dropout <= 1 or isinstance(dropout, bool):
            raise ValueError("dropout should be a number in range [0, 1] representing the probability of an "
                             "element being zeroed")
        if not isinstance(hidden_size, int) or hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if not isinstance(proj_size, int) or proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable projections")
        if proj_size and mode != "LSTM":
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if dropout > 0 and num_layers == 1:
            import warnings

            warnings.warn("dropout option adds dropout after all but last recurrent layer, so non-zero dropout "
                          f"expects num_layers greater than 1, but got dropout={dropout} and num_layers={num_layers}",
                          stacklevel=2)
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers, self.bias, self.batch_first = num_layers, bias, batch_first
        self.dropout, self.bidirectional, self.proj_size = float(dropout), bidirectional, proj_size
        num_directions = 2 if bidirectional else 1
        gate = _GATES[mode] * hidden_size
        real_hidden = proj_size if proj_size > 0 else hidden_size
        kw = {"device": device, "dtype": dtype}
        self._flat_weights_names: list[str] = []
        self._all_weights: list[list[str]] = []
        for layer in range(num_layers):
            for direction in range(num_directions):
                layer_in = input_size if layer == 0 else real_hidden * num_directions
                suffix = "_reverse" if direction == 1 else ""
                names = [f"weight_ih_l{layer}{suffix}", f"weight_hh_l{layer}{suffix}"]
                params = [Parameter(_c.empty(gate, layer_in, **kw)), Parameter(_c.empty(gate, real_hidden, **kw))]
                if bias:
                    names += [f"bias_ih_l{layer}{suffix}", f"bias_hh_l{layer}{suffix}"]
                    params += [Parameter(_c.empty(gate, **kw)), Parameter(_c.empty(gate, **kw))]
                if proj_size > 0:
                    names.append(f"weight_hr_l{layer}{suffix}")
                    params.append(Parameter(_c.empty(proj_size, hidden_size, **kw)))
                for name, p in zip(names, params):
                    setattr(self, name, p)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for w in self.parameters():
            init.uniform_(w, -stdv, stdv)

    def flatten_parameters(self) -> None:
        """No-op (cuDNN weight compaction in PyTorch)."""

    @property
    def _flat_weights(self) -> list:
        return [getattr(self, n) for n in self._flat_weights_names]

    @property
    def all_weights(self) -> list:
        return [[getattr(self, n) for n in names] for names in self._all_weights]

    def extra_repr(self) -> str:
        s = "{input_size}, {hidden_size}"
        if self.proj_size != 0:
            s += ", proj_size={proj_size}"
        if self.num_layers != 1:
            s += ", num_layers={num_layers}"
        if self.bias is not True:
            s += ", bias={bias}"
        if self.batch_first is not False:
            s += ", batch_first={batch_first}"
        if self.dropout != 0:
            s += ", dropout={dropout}"
        if self.bidirectional is not False:
            s += ", bidirectional={bidirectional}"
        return s.format(**self.__dict__)

    def _layer_params(self, layer: int, direction: int) -> tuple:
        names = self._all_weights[layer * (2 if self.bidirectional else 1) + direction]
        w_ih, w_hh = getattr(self, names[0]), getattr(self, names[1])
        b_ih = getattr(self, names[2]) if self.bias else None
        b_hh = getattr(self, names[3]) if self.bias else None
        w_hr = getattr(self, names[-1]) if self.proj_size > 0 else None
        return w_ih, w_hh, b_ih, b_hh, w_hr

    def _run_direction(self, x: Tensor, state: Any, params: tuple, reverse: bool,
                       mask: list | None = None) -> tuple[Tensor, Any]:
        """x (L, N, in); returns (outputs (L, N, H), final state). ``mask[t]`` (N, 1) bool: the rows
        still running at step t (packed input); the others keep their state."""
        w_ih, w_hh, b_ih, b_hh = params[:4]
        proj = F.linear(x, w_ih, b_ih)  # the whole sequence in one matmul
        steps = range(x.shape[0] - 1, -1, -1) if reverse else range(x.shape[0])
        proj = proj.unbind(0)  # one node whose backward stacks the steps' gradients
        outs: list = [None] * x.shape[0]
        h = state
        for t in steps:
            if self.mode == "GRU":
                h_new = _gru_step(proj[t], h, w_hh, b_hh)
            else:
                h_new = _rnn_step(proj[t], h, w_hh, b_hh, self.mode == "RNN_RELU")
            h = h_new if mask is None else _e.where(mask[t], h_new, h)
            outs[t] = h
        return _s.stack(outs, 0), h

    def forward(self, input: Tensor | PackedSequence, hx: Any = None) -> tuple[Any, Any]:
        is_lstm = self.mode == "LSTM"
        num_dir = 2 if self.bidirectional else 1
        packed = isinstance(input, PackedSequence)
        lens = sorted_indices = unsorted_indices = None
        if packed:
            data, batch_sizes, sorted_indices, unsorted_indices = input
            if data.dim() != 2:
                raise RuntimeError(f"input must have 2 dimensions, got {data.dim()}")
            bs = batch_sizes.detach().cpu().numpy().astype(np.int64)
            lens = _lengths_from_batch_sizes(bs)
            unbatched = False
            x = _pad_data(data, bs, bs.size, False, 0)  # (T, B, in), the batch sorted by length
        else:
            if not isinstance(input, Tensor):
                raise TypeError(f"{type(self).__name__}: expected a Tensor or a PackedSequence, got "
                                f"{type(input).__name__}")
            unbatched = input.dim() == 2
            if input.dim() not in (2, 3):
                raise ValueError(f"{type(self).__name__}: Expected input to be 2D or 3D, got {input.dim()}D "
                                 f"{'' if self.mode in ('LSTM', 'GRU') else 'tensor '}instead")
            x = input.unsqueeze(1) if unbatched else (input.transpose(0, 1) if self.batch_first else input)
        w_dtype = self.weight_ih_l0.dtype
        if x.dtype != w_dtype and not _autocast_enabled():
            raise ValueError(f"RNN input dtype ({x.dtype}) does not match weight dtype ({w_dtype}). Convert input: "
                             f"input.to({w_dtype}), or convert model: model.to({x.dtype})")
        if x.shape[-1] != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected {self.input_size}, "
                               f"got {x.shape[-1]}")
        n = x.shape[1]
        real_hidden = self.proj_size if self.proj_size > 0 else self.hidden_size
        shape = (self.num_layers * num_dir, n, real_hidden)
        c_shape = (self.num_layers * num_dir, n, self.hidden_size)
        if hx is None:
            z = _c.zeros(*shape, dtype=x.dtype, device=x.device)
            hx = (z, _c.zeros(*c_shape, dtype=x.dtype, device=x.device) if self.proj_size > 0 else z) if is_lstm else z
        else:
            want = 2 if unbatched else 3
            kind = "unbatched 2-D" if unbatched else "batched 3-D"
            if packed and sorted_indices is not None:
                # PyTorch puts the state in the sorted batch order before any check: a state with more
                # rows than the batch passes, one with fewer fails in index_select
                hx = tuple(h.index_select(1, sorted_indices) for h in hx) if is_lstm else hx.index_select(1, sorted_indices)
            if packed:  # PyTorch checks a packed batch's state only by its full shape
                pass
            elif is_lstm and (hx[0].dim() != want or hx[1].dim() != want):
                raise RuntimeError(f"For {kind} input, hx and cx should also be {want}-D but got "
                                   f"({hx[0].dim()}-D, {hx[1].dim()}-D) tensors")
            elif not is_lstm and hx.dim() != want:
                raise RuntimeError(f"For {kind} input, hx should also be {want}-D but got {hx.dim()}-D tensor")
            if unbatched:
                hx = (hx[0].unsqueeze(1), hx[1].unsqueeze(1)) if is_lstm else hx.unsqueeze(1)
            if is_lstm:
                for i, (h, want) in enumerate(zip(hx, (shape, c_shape))):
                    if tuple(h.shape) != want:
                        raise RuntimeError(f"Expected hidden[{i}] size {want}, got {list(h.shape)}")
            elif tuple(hx.shape) != shape:
                raise RuntimeError(f"Expected hidden size {shape}, got {list(hx.shape)}")
            for h in hx if is_lstm else (hx,):
                if h.dtype != w_dtype and not _autocast_enabled():
                    # PyTorch's recurrence multiplies the state by weight_hh: its matmul's dtype error
                    # (the fused LSTM kernel here would compute in the weights' dtype instead)
                    raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got {_scalar_name(h.dtype)} "
                                       f"and {_scalar_name(w_dtype)}")
        masks = lstm_mask = None
        t_len = x.shape[0]
        if t_len == 0:
            raise RuntimeError("Expected sequence length to be larger than 0 in RNN")
        if lens is not None and lens[-1] < t_len:  # some sequences end early: freeze their rows
            running = lens[None, :] > np.arange(t_len)[:, None]  # (T, B)
            if is_lstm:  # (T, D, B, 1), each direction in its own step order
                m = np.stack([running, running[::-1]][:num_dir], 1)[..., None]
                lstm_mask = _c.tensor(m, device=x.device)
            else:
                masks = _c.tensor(running[..., None], device=x.device).unbind(0)
        h_n, c_n = [], []
        layer_in = x
        for layer in range(self.num_layers):
            if is_lstm:  # one autograd node per layer (ember.nn._rnn), every direction at once
                k = layer * num_dir
                params = [self._layer_params(layer, d) for d in range(num_dir)]
                layer_in, h_l, c_l = lstm_layer(layer_in, hx[0][k:k + num_dir], hx[1][k:k + num_dir], params,
                                                lstm_mask)
                h_n.append(h_l)
                c_n.append(c_l)
            else:
                outs = []
                for d in range(num_dir):
                    k = layer * num_dir + d
                    out, final = self._run_direction(layer_in, hx[k], self._layer_params(layer, d), d == 1, masks)
                    outs.append(out)
                    h_n.append(final)
                layer_in = outs[0] if num_dir == 1 else _s.cat(outs, 2)
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                layer_in = F.dropout(layer_in, self.dropout, True)
        output = layer_in
        h_out = _s.cat(h_n, 0) if is_lstm else _s.stack(h_n, 0)
        c_out = _s.cat(c_n, 0) if is_lstm else None
        if packed:
            out_packed = PackedSequence(_pack_data(output, lens, False), batch_sizes, sorted_indices, unsorted_indices)
            if unsorted_indices is not None:  # back to the caller's batch order
                h_out = h_out.index_select(1, unsorted_indices)
                c_out = c_out.index_select(1, unsorted_indices) if c_out is not None else None
            return (out_packed, (h_out, c_out)) if is_lstm else (out_packed, h_out)
        if unbatched:
            output = output.squeeze(1)
            h_out = h_out.squeeze(1)
            c_out = c_out.squeeze(1) if c_out is not None else None
        elif self.batch_first:
            output = output.transpose(0, 1)
        return (output, (h_out, c_out)) if is_lstm else (output, h_out)


def _refuse_proj_size(kwargs: dict, cls: str) -> None:
    """PyTorch's RNN and GRU refuse a ``proj_size`` argument (even 0) with the LSTM-only message."""
    if "proj_size" in kwargs:
        raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
    if kwargs:
        raise TypeError(f"{cls}.__init__() got an unexpected keyword argument '{next(iter(kwargs))}'")


class RNN(RNNBase):
    """Elman RNN: ``h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)`` (or relu)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device: Any = None, dtype: Any = None, **kwargs: Any) -> None:
        _refuse_proj_size(kwargs, "RNN")
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        self.nonlinearity = nonlinearity
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size, hidden_size, num_layers,
                         bias, batch_first, dropout, bidirectional, 0, device, dtype)


class LSTM(RNNBase):
    """Long short-term memory; returns ``(output, (h_n, c_n))``."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         proj_size, device, dtype)


class GRU(RNNBase):
    """Gated recurrent unit; returns ``(output, h_n)``."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device: Any = None, dtype: Any = None, **kwargs: Any) -> None:
        _refuse_proj_size(kwargs, "GRU")
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, 0,
                         device, dtype)


class RNNCellBase(Module):
    """The base of ``RNNCell``, ``LSTMCell`` and ``GRUCell``: ``num_chunks`` gate blocks of
    ``hidden_size`` rows in ``weight_ih`` (``(num_chunks * hidden_size, input_size)``) and
    ``weight_hh``, and their biases; all uniform in ``+-1/sqrt(hidden_size)``."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        kw = {"device": device, "dtype": dtype}
        g = num_chunks * hidden_size
        self.weight_ih = Parameter(_c.empty(g, input_size, **kw))
        self.weight_hh = Parameter(_c.empty(g, hidden_size, **kw))
        if bias:
            self.bias_ih = Parameter(_c.empty(g, **kw))
            self.bias_hh = Parameter(_c.empty(g, **kw))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for w in self.parameters():
            init.uniform_(w, -stdv, stdv)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def _zeros(self, x: Tensor) -> Tensor:
        return _c.zeros(*x.shape[:-1], self.hidden_size, dtype=x.dtype, device=x.device)

    def _check(self, input: Tensor, hx: Any, names: tuple) -> None:
        """PyTorch's cell checks: 1-D or 2-D input and states, then the C++ input/state size checks."""
        cls = type(self).__name__
        if input.dim() not in (1, 2):
            raise ValueError(f"{cls}: Expected input to be 1D or 2D, got {input.dim()}D instead")
        states = () if hx is None else (hx if isinstance(hx, (tuple, list)) else (hx,))
        for name, h in zip(names, states):
            if h.dim() not in (1, 2):
                raise ValueError(f"{cls}: Expected {name} to be 1D or 2D, got {h.dim()}D instead")
        x = input if input.dim() == 2 else input.unsqueeze(0)
        if x.shape[1] != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {x.shape[1]} expected {self.input_size}")
        for label, h in enumerate(states):
            h = h if input.dim() == 2 else h.unsqueeze(0)
            if h.dim() < 2 or x.shape[0] != h.shape[0]:
                got = h.shape[0] if h.dim() else 1
                raise RuntimeError(f"Input batch size {x.shape[0]} doesn't match hidden{label} batch size {got}")
            if h.shape[1] != self.hidden_size:
                raise RuntimeError(f"hidden{label} has inconsistent hidden_size: got {h.shape[1]}, "
                                   f"expected {self.hidden_size}")


class RNNCell(RNNCellBase):
    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        self._check(input, hx, ("hidden",))
        hx = self._zeros(input) if hx is None else hx
        if self.nonlinearity not in ("tanh", "relu"):
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        return _rnn_step(F.linear(input, self.weight_ih, self.bias_ih), hx, self.weight_hh, self.bias_hh,
                         self.nonlinearity == "relu")


class LSTMCell(RNNCellBase):
    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input: Tensor, hx: Any = None) -> tuple[Tensor, Tensor]:
        self._check(input, hx, ("hx[0]", "hx[1]"))
        if hx is None:
            z = self._zeros(input)
            hx = (z, z)
        return _lstm_step(F.linear(input, self.weight_ih, self.bias_ih), hx[0], hx[1], self.weight_hh, self.bias_hh)


class GRUCell(RNNCellBase):
    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        self._check(input, hx, ("hidden",))
        hx = self._zeros(input) if hx is None else hx
        return _gru_step(F.linear(input, self.weight_ih, self.bias_ih), hx, self.weight_hh, self.bias_hh)
