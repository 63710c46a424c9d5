"""The PyTorch "Quickstart" (FashionMNIST) tutorial, run with ember.

Datasets and a DataLoader, an ``nn.Module`` with Flatten / Linear / ReLU, a training loop with
``CrossEntropyLoss`` and ``SGD(lr=1e-3)``, a test loop, saving the ``state_dict`` with
``ember.save``, loading it into a new model and predicting.

With ``--data DIR`` it reads Fashion-MNIST from ``DIR/FashionMNIST/raw`` (the IDX files, as
torchvision lays them out). Without it, it uses the MNIST sample bundled with ember, so it runs
offline.

Run:
    python examples/fashion_mnist.py                    # bundled MNIST sample, 5 epochs
    python examples/fashion_mnist.py --data ~/data      # real Fashion-MNIST
    python examples/fashion_mnist.py --device opencl --quick
"""

from __future__ import annotations

import argparse

import ember as torch
from ember import nn
from ember.utils.data import DataLoader, Subset
from ember.vision import datasets
from ember.vision.transforms import ToTensor


class NeuralNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(28 * 28, 512),
            nn.ReLU(),
            nn.Linear(512, 512),
            nn.ReLU(),
            nn.Linear(512, 10),
        )

    def forward(self, x):
        x = self.flatten(x)
        logits = self.linear_relu_stack(x)
        return logits


def train(dataloader, model, loss_fn, optimizer, device, log_every=100):
    size = len(dataloader.dataset)
    model.train()
    for batch, (X, y) in enumerate(dataloader):
        X, y = X.to(device), y.to(device)

        # Compute prediction error
        pred = model(X)
        loss = loss_fn(pred, y)

        # Backpropagation
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()

        if batch % log_every == 0:
            loss, current = loss.item(), (batch + 1) * len(X)
            print(f"loss: {loss:>7f}  [{current:>5d}/{size:>5d}]")


def test(dataloader, model, loss_fn, device):
    size = len(dataloader.dataset)
    num_batches = len(dataloader)
    model.eval()
    test_loss, correct = 0, 0
    with torch.no_grad():
        for X, y in dataloader:
            X, y = X.to(device), y.to(device)
            pred = model(X)
            test_loss += loss_fn(pred, y).item()
            correct += (pred.argmax(1) == y).type(torch.float).sum().item()
    test_loss /= num_batches
    correct /= size
    print(f"Test Error: \n Accuracy: {(100 * correct):>0.1f}%, Avg loss: {test_loss:>8f} \n")
    return correct, test_loss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="device to run on (cpu, opencl, ...)")
    parser.add_argument("--quick", action="store_true", help="a small subset and one epoch (for CI)")
    parser.add_argument("--data", default=None, help="root folder holding FashionMNIST/raw (default: bundled MNIST sample)")
    parser.add_argument("--epochs", type=int, default=None, help="training epochs (default 5, 2 with --quick)")
    parser.add_argument("--lr", type=float, default=1e-3, help="SGD learning rate (the tutorial's 1e-3)")
    parser.add_argument("--model-path", default="model.pth", help="where to save the trained weights")
    args = parser.parse_args()
    torch.manual_seed(0)

    # Download training data from open datasets.
    if args.data is not None:
        training_data = datasets.FashionMNIST(root=args.data, train=True, transform=ToTensor())
        test_data = datasets.FashionMNIST(root=args.data, train=False, transform=ToTensor())
    else:
        training_data, test_data = datasets.mnist_sample(transform=ToTensor())
    classes = training_data.classes
    if args.quick:
        training_data = Subset(training_data, range(1024))
        test_data = Subset(test_data, range(256))

    batch_size = 64

    # Create data loaders.
    train_dataloader = DataLoader(training_data, batch_size=batch_size, shuffle=True)
    test_dataloader = DataLoader(test_data, batch_size=batch_size)

    for X, y in test_dataloader:
        print(f"Shape of X [N, C, H, W]: {X.shape}")
        print(f"Shape of y: {y.shape} {y.dtype}")
        break

    device = torch.device(args.device)
    print(f"Using {device} device")

    model = NeuralNetwork().to(device)
    print(model)

    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr)

    epochs = args.epochs or (2 if args.quick else 5)
    log_every = 4 if args.quick else 100
    for t in range(epochs):
        print(f"Epoch {t + 1}\n-------------------------------")
        train(train_dataloader, model, loss_fn, optimizer, device, log_every)
        test(test_dataloader, model, loss_fn, device)
    print("Done!")

    torch.save(model.state_dict(), args.model_path)
    print(f"Saved PyTorch Model State to {args.model_path}")

    model = NeuralNetwork().to(device)
    model.load_state_dict(torch.load(args.model_path, weights_only=True))
    accuracy, _ = test(test_dataloader, model, loss_fn, device)
    print(f"Reloaded model accuracy: {100 * accuracy:.1f}%")

    model.eval()
    x, y = test_data[0][0], test_data[0][1]
    with torch.no_grad():
        x = x.to(device)
        pred = model(x)
        predicted, actual = classes[pred[0].argmax(0)], classes[y]
        print(f'Predicted: "{predicted}", Actual: "{actual}"')


if __name__ == "__main__":
    main()
