"""An LSTM sentiment classifier in the PyTorch style, run with ember, on a synthetic corpus.

The model is the classic bidirectional-LSTM text classifier::

    Embedding(vocab, emb, padding_idx=0)
      -> LSTM(emb, hid, num_layers=2, batch_first=True, bidirectional=True)   # (N, T, 2*hid)
      -> F.avg_pool2d(out, (T, 1))   # mean over time; a 3-d input is read as (C=N, H=T, W=2*hid)
      -> squeeze -> Dropout -> Linear(2*hid, 1) -> BCEWithLogitsLoss

The corpus is generated here so that the script runs offline: every "review" is a padded
sequence of token ids drawn from positive words, negative words and neutral filler, and it is
positive exactly when its positive words outnumber its negative ones. Counting is something an
LSTM has to learn from the data, so test accuracy well above 50% shows it learned.

Run:
    python examples/lstm_sentiment.py
    python examples/lstm_sentiment.py --device opencl --quick
"""

from __future__ import annotations

import argparse

import ember as torch
import ember.nn.functional as F
from ember import nn
from ember.utils.data import DataLoader, TensorDataset

PAD = 0
POSITIVE = range(1, 6)      # "great", "love", ... : ids 1-5
NEGATIVE = range(6, 11)     # "awful", "boring", ...: ids 6-10
NEUTRAL_START = 11          # everything from here up is filler ("the", "movie", ...)


def make_corpus(n: int, seq_len: int, vocab_size: int, generator: torch.Generator) -> TensorDataset:
    """``n`` padded reviews of length 4..seq_len and their 0/1 labels, with no ties."""
    tokens = torch.full((n, seq_len), PAD, dtype=torch.long)
    labels = torch.zeros(n)
    lengths = torch.randint(max(4, seq_len // 2), seq_len + 1, (n,), generator=generator).tolist()
    for i, length in enumerate(lengths):
        # How many sentiment words this review has, split unevenly between the two sides.
        n_sent = int(torch.randint(1, length // 2 + 1, (1,), generator=generator))
        n_pos = int(torch.randint(0, n_sent + 1, (1,), generator=generator))
        if 2 * n_pos == n_sent:      # break a tie by adding one word to a random side
            n_sent += 1
            n_pos += int(torch.randint(0, 2, (1,), generator=generator))
        n_neg = n_sent - n_pos
        words = (
            torch.randint(POSITIVE.start, POSITIVE.stop, (n_pos,), generator=generator).tolist()
            + torch.randint(NEGATIVE.start, NEGATIVE.stop, (n_neg,), generator=generator).tolist()
            + torch.randint(NEUTRAL_START, vocab_size, (length - n_sent,), generator=generator).tolist()
        )
        order = torch.randperm(len(words), generator=generator).tolist()
        tokens[i, :len(words)] = torch.tensor([words[j] for j in order])
        labels[i] = float(n_pos > n_neg)
    return TensorDataset(tokens, labels)


class SentimentLSTM(nn.Module):
    def __init__(self, vocab_size: int, embedding_dim: int, hidden_dim: int, dropout: float = 0.3):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=PAD)
        self.lstm = nn.LSTM(embedding_dim, hidden_dim, num_layers=2, batch_first=True, bidirectional=True)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(2 * hidden_dim, 1)

    def forward(self, text):
        embedded = self.embedding(text)                      # (N, T, emb)
        output, (hidden, cell) = self.lstm(embedded)         # (N, T, 2*hid)
        # Average over time: avg_pool2d reads the 3-d output as (C, H, W) = (N, T, 2*hid).
        pooled = F.avg_pool2d(output, (output.shape[1], 1))  # (N, 1, 2*hid)
        pooled = pooled.squeeze(1)                           # (N, 2*hid)
        return self.fc(self.dropout(pooled)).squeeze(1)      # (N,) logits


def binary_accuracy(logits, labels) -> float:
    return ((logits > 0).float() == labels).float().mean().item()


def train_epoch(model, loader, optimizer, criterion, device) -> tuple[float, float]:
    model.train()
    total_loss, total_acc = 0.0, 0.0
    for text, labels in loader:
        text, labels = text.to(device), labels.to(device)
        optimizer.zero_grad()
        logits = model(text)
        loss = criterion(logits, labels)
        loss.backward()
        optimizer.step()
        total_loss += loss.item()
        total_acc += binary_accuracy(logits, labels)
    return total_loss / len(loader), total_acc / len(loader)


def evaluate(model, loader, criterion, device) -> tuple[float, float]:
    model.eval()
    total_loss, total_acc = 0.0, 0.0
    with torch.no_grad():
        for text, labels in loader:
            text, labels = text.to(device), labels.to(device)
            logits = model(text)
            total_loss += criterion(logits, labels).item()
            total_acc += binary_accuracy(logits, labels)
    return total_loss / len(loader), total_acc / len(loader)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="device to run on (cpu, opencl, ...)")
    parser.add_argument("--quick", action="store_true", help="a small corpus and model (for CI)")
    parser.add_argument("--epochs", type=int, default=None, help="training epochs (default 5, 3 with --quick)")
    args = parser.parse_args()
    torch.manual_seed(0)
    device = torch.device(args.device)

    if args.quick:
        n_train, n_test, seq_len, emb, hid, epochs = 256, 128, 8, 16, 16, 3
    else:
        n_train, n_test, seq_len, emb, hid, epochs = 2000, 500, 20, 32, 32, 5
    epochs = args.epochs or epochs
    vocab_size = 40

    gen = torch.Generator().manual_seed(1234)
    train_data = make_corpus(n_train, seq_len, vocab_size, gen)
    test_data = make_corpus(n_test, seq_len, vocab_size, gen)
    positive_share = test_data.tensors[1].mean().item()
    print(f"{n_train} training / {n_test} test reviews, {100 * positive_share:.1f}% of test reviews positive")
    train_loader = DataLoader(train_data, batch_size=32, shuffle=True)
    test_loader = DataLoader(test_data, batch_size=64)

    model = SentimentLSTM(vocab_size, emb, hid).to(device)
    n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    print(f"The model has {n_params:,} trainable parameters")
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    criterion = nn.BCEWithLogitsLoss()

    _, acc = evaluate(model, test_loader, criterion, device)
    print(f"Before training: test acc {100 * acc:.1f}%")
    for epoch in range(epochs):
        train_loss, train_acc = train_epoch(model, train_loader, optimizer, criterion, device)
        test_loss, test_acc = evaluate(model, test_loader, criterion, device)
        print(f"Epoch {epoch + 1:2d} | train loss {train_loss:.3f} acc {100 * train_acc:.1f}% "
              f"| test loss {test_loss:.3f} acc {100 * test_acc:.1f}%")
    print(f"Final test accuracy: {100 * test_acc:.1f}%")


if __name__ == "__main__":
    main()
