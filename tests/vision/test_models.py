"""ember.vision.models against torchvision's architectures, restated here with torch.nn.

torchvision can't be installed beside this torch, so the reference models below are an independent
re-statement of torchvision/models/{resnet,vgg,mobilenetv2}.py and ops/misc.py (pytorch/vision,
read at commit 0256d651 for mobilenetv2.py): the same module tree, hence the same state_dict keys.
Each test builds the torch reference, saves its state_dict with torch.save, loads that file into the
ember model with ``load_state_dict(ember.load(path))`` (the way a torchvision weight file loads),
and compares eval-mode outputs.
"""

import io

import ember
import numpy as np
import pytest
from ember.vision import models

torch = pytest.importorskip("torch")
tnn = torch.nn


# ---- the torch references -------------------------------------------------------------------

class TBasic(tnn.Module):
    expansion = 1

    def __init__(self, cin, planes, stride):
        super().__init__()
        self.conv1 = tnn.Conv2d(cin, planes, 3, stride, 1, bias=False)
        self.bn1 = tnn.BatchNorm2d(planes)
        self.relu = tnn.ReLU()
        self.conv2 = tnn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = tnn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or cin != planes:
            self.downsample = tnn.Sequential(tnn.Conv2d(cin, planes, 1, stride, bias=False), tnn.BatchNorm2d(planes))

    def forward(self, x):
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


class TBottleneck(tnn.Module):
    expansion = 4

    def __init__(self, cin, planes, stride):
        super().__init__()
        out = planes * 4
        self.conv1 = tnn.Conv2d(cin, planes, 1, bias=False)
        self.bn1 = tnn.BatchNorm2d(planes)
        self.conv2 = tnn.Conv2d(planes, planes, 3, stride, 1, bias=False)  # V1.5: stride on the 3x3
        self.bn2 = tnn.BatchNorm2d(planes)
        self.conv3 = tnn.Conv2d(planes, out, 1, bias=False)
        self.bn3 = tnn.BatchNorm2d(out)
        self.relu = tnn.ReLU()
        self.downsample = None
        if stride != 1 or cin != out:
            self.downsample = tnn.Sequential(tnn.Conv2d(cin, out, 1, stride, bias=False), tnn.BatchNorm2d(out))

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn3(self.conv3(self.relu(self.bn2(self.conv2(out)))))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


class TResNet(tnn.Module):
    def __init__(self, block, layers, num_classes):
        super().__init__()
        self.conv1 = tnn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = tnn.BatchNorm2d(64)
        self.relu = tnn.ReLU()
        self.maxpool = tnn.MaxPool2d(3, 2, 1)
        cin = 64
        for i, (planes, n) in enumerate(zip((64, 128, 256, 512), layers)):
            blocks = []
            for j in range(n):
                blocks.append(block(cin, planes, 2 if (i > 0 and j == 0) else 1))
                cin = planes * block.expansion
            setattr(self, f"layer{i + 1}", tnn.Sequential(*blocks))
        self.avgpool = tnn.AdaptiveAvgPool2d(1)
        self.fc = tnn.Linear(cin, num_classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


VGG_CFG = {"vgg11": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
           "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]}


class TVGG(tnn.Module):
    def __init__(self, cfg, bn, num_classes):
        super().__init__()
        layers, cin = [], 3
        for v in cfg:
            if v == "M":
                layers.append(tnn.MaxPool2d(2, 2))
            else:
                layers += [tnn.Conv2d(cin, v, 3, padding=1)] + ([tnn.BatchNorm2d(v)] if bn else []) + [tnn.ReLU()]
                cin = v
        self.features = tnn.Sequential(*layers)
        self.avgpool = tnn.AdaptiveAvgPool2d((7, 7))
        self.classifier = tnn.Sequential(tnn.Linear(512 * 49, 4096), tnn.ReLU(), tnn.Dropout(),
                                         tnn.Linear(4096, 4096), tnn.ReLU(), tnn.Dropout(),
                                         tnn.Linear(4096, num_classes))

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


def t_conv_bn_relu6(cin, cout, k=3, stride=1, groups=1):
    return tnn.Sequential(tnn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False),
                          tnn.BatchNorm2d(cout), tnn.ReLU6())


class TInvRes(tnn.Module):
    def __init__(self, cin, cout, stride, t):
        super().__init__()
        hidden = cin * t
        layers = [t_conv_bn_relu6(cin, hidden, 1)] if t != 1 else []
        layers += [t_conv_bn_relu6(hidden, hidden, 3, stride, hidden), tnn.Conv2d(hidden, cout, 1, bias=False),
                   tnn.BatchNorm2d(cout)]
        self.conv = tnn.Sequential(*layers)
        self.res = stride == 1 and cin == cout

    def forward(self, x):
        return x + self.conv(x) if self.res else self.conv(x)


class TMobileNetV2(tnn.Module):
    SETTING = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
               (6, 320, 1, 1)]

    def __init__(self, num_classes):
        super().__init__()
        feats, cin = [t_conv_bn_relu6(3, 32, 3, 2)], 32
        for t, c, n, s in self.SETTING:
            for i in range(n):
                feats.append(TInvRes(cin, c, s if i == 0 else 1, t))
                cin = c
        feats.append(t_conv_bn_relu6(cin, 1280, 1))
        self.features = tnn.Sequential(*feats)
        self.classifier = tnn.Sequential(tnn.Dropout(0.2), tnn.Linear(1280, num_classes))

    def forward(self, x):
        return self.classifier(torch.flatten(tnn.functional.adaptive_avg_pool2d(self.features(x), 1), 1))


REFERENCES = {
    "resnet18": lambda nc: TResNet(TBasic, [2, 2, 2, 2], nc),
    "resnet34": lambda nc: TResNet(TBasic, [3, 4, 6, 3], nc),
    "resnet50": lambda nc: TResNet(TBottleneck, [3, 4, 6, 3], nc),
    "vgg11_bn": lambda nc: TVGG(VGG_CFG["vgg11"], True, nc),
    "vgg16": lambda nc: TVGG(VGG_CFG["vgg16"], False, nc),
    "mobilenet_v2": lambda nc: TMobileNetV2(nc),
}
# The smallest input each family runs on (VGG and MobileNetV2 halve the size five times).
INPUT_SIZE = {"resnet": 64, "vgg": 32, "mobilenet_v2": 32}


# ---- helpers ----------------------------------------------------------------------------------

def reference(name, num_classes=10):
    torch.manual_seed(0)
    ref = REFERENCES[name](num_classes).eval()
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():  # non-trivial BN statistics and affine parameters, so eval mode is really tested
        for m in ref.modules():
            if isinstance(m, tnn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
                m.weight.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
    return ref


def torch_file(ref, path=None):
    """The reference's state_dict as torch.save writes it (a file, or bytes for the big VGGs)."""
    if path is not None:
        torch.save(ref.state_dict(), path)
        return path
    buf = io.BytesIO()
    torch.save(ref.state_dict(), buf)
    buf.seek(0)
    return buf


def check_against_reference(name, device, path=None, num_classes=10):
    ref = reference(name, num_classes)
    # VGG's own init draws ~130M normals; skip it as torchvision does when it loads weights.
    extra = {"init_weights": False} if name.startswith("vgg") else {}
    model = getattr(models, name)(num_classes=num_classes, **extra)
    want = {k: tuple(v.shape) for k, v in ref.state_dict().items()}
    got = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert got == want  # torchvision's key names, shapes and buffers (num_batches_tracked included)
    result = model.load_state_dict(ember.load(torch_file(ref, path)))
    assert not result.missing_keys and not result.unexpected_keys
    model = model.to(device).eval()
    size = next(v for k, v in INPUT_SIZE.items() if name.startswith(k))
    x = np.random.default_rng(2).standard_normal((2, 3, size, size)).astype(np.float32)
    with torch.no_grad():
        want_out = ref(torch.from_numpy(x)).numpy()
    with ember.no_grad():
        got_out = model(ember.tensor(x, device=device)).cpu().numpy()
    assert got_out.shape == (2, num_classes)
    np.testing.assert_allclose(got_out, want_out, rtol=1e-4, atol=1e-4 * float(np.abs(want_out).max()))


# ---- tests ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v2"])
def test_matches_reference_on_device(name, device, tmp_path):
    check_against_reference(name, device, tmp_path / f"{name}.pth")


@pytest.mark.parametrize("name", ["resnet34", "resnet50", "vgg11_bn"])
def test_matches_reference_cpu(name, tmp_path):
    check_against_reference(name, "cpu", tmp_path / f"{name}.pth")


def test_vgg16_matches_reference_cpu():
    check_against_reference("vgg16", "cpu", num_classes=1000)  # the 500 MB file goes through memory


def test_default_heads_and_constructor_arguments():
    assert models.resnet18().fc.out_features == 1000
    assert models.resnet50(num_classes=7).fc.in_features == 2048
    assert models.mobilenet_v2(num_classes=3).classifier[1].out_features == 3
    assert models.mobilenet_v2(dropout=0.3).classifier[0].p == 0.3
    m = models.resnet18(zero_init_residual=True)
    assert float(m.layer1[0].bn2.weight.abs().sum()) == 0.0


@pytest.mark.parametrize("kwargs", [{"weights": "IMAGENET1K_V1"}, {"weights": "DEFAULT"}, {"pretrained": True}])
def test_pretrained_weights_missing_from_the_cache_raise_clearly(kwargs, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))

    def offline(url, *args, **kwargs):  # as on a machine without a network, wherever the test runs
        from urllib.error import URLError

        raise URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(ember.hub, "urlopen", offline)
    with pytest.raises(RuntimeError, match=r"can't be downloaded here: put the file .*resnet18-f37072fd\.pth"):
        models.resnet18(**kwargs)
    with pytest.raises(RuntimeError, match=r"mobilenet_v2-\w+\.pth"):
        models.mobilenet_v2(**kwargs)


def test_pretrained_weights_load_from_the_hub_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    src = models.resnet18()
    (tmp_path / "hub" / "checkpoints").mkdir(parents=True)
    ember.save(src.state_dict(), str(tmp_path / "hub" / "checkpoints" / "resnet18-f37072fd.pth"))
    m = models.resnet18(weights=models.ResNet18_Weights.DEFAULT)
    assert all(ember.equal(a, b) for a, b in zip(m.state_dict().values(), src.state_dict().values()))
    with pytest.raises(ValueError, match="num_classes"):
        models.resnet18(weights="IMAGENET1K_V1", num_classes=10)


def test_weights_enums():
    assert repr(models.ResNet50_Weights.DEFAULT) == "ResNet50_Weights.IMAGENET1K_V2"
    assert len(models.ResNet18_Weights.IMAGENET1K_V1.meta["categories"]) == 1000
    with pytest.raises(AttributeError, match="no attribute 'resnet9'"):
        models.resnet9  # noqa: B018


def test_trains_one_step():
    model = models.resnet18(num_classes=4)
    opt = ember.optim.SGD(model.parameters(), lr=0.1)
    x, y = ember.randn(2, 3, 32, 32), ember.tensor([0, 3])
    loss = ember.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    assert model.conv1.weight.grad is not None and np.isfinite(loss.item())
