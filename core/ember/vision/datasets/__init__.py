"""Vision datasets: MNIST, CIFAR, ImageFolder, the bundled MNIST sample, and torchvision's readers of official files.

Example:
    >>> from ember.vision import datasets
    >>> train, test = datasets.mnist_sample()
    >>> len(train) + len(test)
    10000
"""

from . import utils
from .caltech import Caltech101, Caltech256
from .captions import SBU, Flickr8k, Flickr30k
from .celeba import CelebA
from .cifar import CIFAR10, CIFAR100, UnsafePickleError, load_cifar_pickle
from .cityscapes import Cityscapes
from .coco import CocoCaptions, CocoDetection
from .detection import Kitti, WIDERFace
from .fakedata import FakeData
from .flowers102 import Flowers102
from .folder import IMG_EXTENSIONS, DatasetFolder, ImageFolder, default_loader, pil_loader
from .folder_sets import (
    DTD,
    GTSRB,
    SUN397,
    CLEVRClassification,
    Country211,
    EuroSAT,
    FGVCAircraft,
    Imagenette,
    RenderedSST2,
)
from .food101 import Food101
from .idx import IDXFormatError, read_idx
from .imagenet import ImageNet
from .inaturalist import INaturalist
from .lfw import LFWPairs, LFWPeople
from .mnist import MNIST, SAMPLE_DIR, FashionMNIST, MNISTSample, mnist_sample
from .mnist_variants import EMNIST, KMNIST, QMNIST
from .moving_mnist import MovingMNIST
from .omniglot import Omniglot
from .oxford_iiit_pet import OxfordIIITPet
from .pcam import PCAM
from .places365 import Places365
from .sbd import SBDataset
from .small_sets import FER2013, SEMEION, USPS
from .stanford_cars import StanfordCars
from .stl10 import STL10
from .svhn import SVHN
from .tv_tensors_wrapper import wrap_dataset_for_transforms_v2
from .utils import calculate_md5, check_integrity, download_url
from .vision import VisionDataset
from .voc import VOCDetection, VOCSegmentation

__all__ = [
    "CIFAR10",
    "CIFAR100",
    "IMG_EXTENSIONS",
    "MNIST",
    "SAMPLE_DIR",
    "DatasetFolder",
    "FakeData",
    "FashionMNIST",
    "IDXFormatError",
    "ImageFolder",
    "MNISTSample",
    "UnsafePickleError",
    "VisionDataset",
    "calculate_md5",
    "check_integrity",
    "default_loader",
    "download_url",
    "load_cifar_pickle",
    "mnist_sample",
    "pil_loader",
    "read_idx",
    # torchvision 0.28's datasets that read a local copy of the official files
    "CLEVRClassification",
    "Caltech101",
    "Caltech256",
    "CelebA",
    "Cityscapes",
    "Flickr8k",
    "Flickr30k",
    "INaturalist",
    "Kitti",
    "LFWPairs",
    "LFWPeople",
    "MovingMNIST",
    "Omniglot",
    "PCAM",
    "Places365",
    "SBDataset",
    "SBU",
    "StanfordCars",
    "WIDERFace",
    "Country211",
    "DTD",
    "EuroSAT",
    "FER2013",
    "FGVCAircraft",
    "GTSRB",
    "Imagenette",
    "RenderedSST2",
    "SEMEION",
    "SUN397",
    "USPS",
    "CocoCaptions",
    "CocoDetection",
    "EMNIST",
    "Flowers102",
    "Food101",
    "ImageNet",
    "KMNIST",
    "OxfordIIITPet",
    "QMNIST",
    "STL10",
    "SVHN",
    "VOCDetection",
    "VOCSegmentation",
    "utils",
    "wrap_dataset_for_transforms_v2",
]
