"""End-to-end: LeNet and the tutorial LSTM classifier train with plain SGD and their loss falls."""

from __future__ import annotations

import ember
import ember.nn.functional as F
from ember import nn


def _sgd(model, lr):
    with ember.no_grad():
        for p in model.parameters():
            if p.grad is not None:
                p.data -= lr * p.grad
    model.zero_grad()


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 4 * 4, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), (2, 2))
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = ember.flatten(x, 1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


def test_lenet_trains(device):
    net = LeNet().to(device)
    x = ember.randn(8, 1, 28, 28, device=device)
    y = ember.randint(0, 10, (8,), device=device)
    losses = []
    for _ in range(25):
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        _sgd(net, 0.2)
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], losses


class LSTMClassifier(nn.Module):
    """The tutorial's model: Embedding -> 2-layer bidirectional LSTM -> avg_pool2d over time -> Linear."""

    def __init__(self, vocab, emb, hid, classes):
        super().__init__()
        self.embedding = nn.Embedding(vocab, emb)
        self.lstm = nn.LSTM(emb, hid, num_layers=2, batch_first=True, bidirectional=True)
        self.dropout = nn.Dropout(0.2)
        self.fc = nn.Linear(hid * 2, classes)

    def forward(self, x):
        out, _ = self.lstm(self.embedding(x))  # (B, T, 2H)
        out = F.avg_pool2d(out, (out.shape[1], 1)).squeeze(1)  # 3-d input: pooled over time
        return self.fc(self.dropout(out))


def test_lstm_classifier_trains(device):
    ember.manual_seed(1)
    model = LSTMClassifier(vocab=20, emb=8, hid=8, classes=2).to(device)
    x = ember.randint(0, 20, (8, 6), device=device)
    y = (x[:, 0] < 10).long()  # learnable from the first token
    losses = []
    for _ in range(25):
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        _sgd(model, 1.0)
        losses.append(loss.item())
    assert losses[-1] < 0.6 * losses[0], losses
