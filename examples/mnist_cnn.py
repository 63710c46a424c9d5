"""The PyTorch "Training a classifier" tutorial (LeNet), run with ember on the bundled MNIST sample.

A LeNet-style CNN (two Conv2d + MaxPool2d blocks, three Linear layers) moved to ``--device`` with
``model.to(device)``, trained with ``CrossEntropyLoss`` and ``SGD(lr=0.001, momentum=0.9)``, then
evaluated overall and per class. The tutorial uses 32x32 CIFAR-10 images; MNIST digits are 28x28
with one channel, so ``conv1`` takes 1 channel and pads by 2, which keeps ``fc1`` at 16 * 5 * 5.

Run:
    python examples/mnist_cnn.py
    python examples/mnist_cnn.py --device opencl --quick
"""

from __future__ import annotations

import argparse

import ember as torch
import ember.nn.functional as F
from ember import nn, optim
from ember.utils.data import DataLoader, Subset
from ember.vision import datasets, transforms


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = torch.flatten(x, 1)  # flatten all dimensions except batch
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        x = self.fc3(x)
        return x


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="device to run on (cpu, opencl, ...)")
    parser.add_argument("--quick", action="store_true", help="a small subset and one epoch (for CI)")
    parser.add_argument("--epochs", type=int, default=None, help="training epochs (default 2, 1 with --quick)")
    parser.add_argument("--batch-size", type=int, default=None, help="default 16; 8 with --quick")
    parser.add_argument("--lr", type=float, default=None,
                        help="SGD learning rate (default: the tutorial's 0.001; 0.02 with --quick, which sees less data)")
    args = parser.parse_args()
    torch.manual_seed(0)

    transform = transforms.Compose([
        transforms.ToTensor(),
        transforms.Normalize((0.1307,), (0.3081,)),
    ])
    trainset, testset = datasets.mnist_sample(transform=transform)
    classes = [str(d) for d in range(10)]
    if args.quick:
        trainset = Subset(trainset, range(640))
        testset = Subset(testset, range(256))

    batch_size = args.batch_size or (8 if args.quick else 16)
    trainloader = DataLoader(trainset, batch_size=batch_size, shuffle=True)
    testloader = DataLoader(testset, batch_size=64, shuffle=False)

    device = torch.device(args.device)
    print(f"Using {device} device")
    net = Net()
    net.to(device)

    lr = args.lr or (0.02 if args.quick else 0.001)
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.SGD(net.parameters(), lr=lr, momentum=0.9)

    epochs = args.epochs or (1 if args.quick else 2)
    log_every = 10 if args.quick else 200
    for epoch in range(epochs):  # loop over the dataset multiple times
        running_loss = 0.0
        for i, data in enumerate(trainloader, 0):
            # get the inputs; data is a list of [inputs, labels]
            inputs, labels = data[0].to(device), data[1].to(device)

            # zero the parameter gradients
            optimizer.zero_grad()

            # forward + backward + optimize
            outputs = net(inputs)
            loss = criterion(outputs, labels)
            loss.backward()
            optimizer.step()

            # print statistics
            running_loss += loss.item()
            if i % log_every == log_every - 1:
                print(f"[{epoch + 1}, {i + 1:5d}] loss: {running_loss / log_every:.3f}")
                running_loss = 0.0
    print("Finished Training")

    correct = 0
    total = 0
    correct_pred = {classname: 0 for classname in classes}
    total_pred = {classname: 0 for classname in classes}
    net.eval()
    # since we're not training, we don't need to calculate the gradients for our outputs
    with torch.no_grad():
        for data in testloader:
            images, labels = data[0].to(device), data[1].to(device)
            # calculate outputs by running images through the network
            outputs = net(images)
            # the class with the highest energy is what we choose as prediction
            _, predicted = torch.max(outputs, 1)
            total += labels.size(0)
            correct += (predicted == labels).sum().item()
            for label, prediction in zip(labels.tolist(), predicted.tolist()):
                if label == prediction:
                    correct_pred[classes[label]] += 1
                total_pred[classes[label]] += 1

    print(f"Accuracy of the network on the {total} test images: {100 * correct // total} %")
    for classname, correct_count in correct_pred.items():
        if total_pred[classname]:
            accuracy = 100 * float(correct_count) / total_pred[classname]
            print(f"Accuracy for class: {classname:5s} is {accuracy:.1f} %")


if __name__ == "__main__":
    main()
