"""``ember.hub`` (``torch.hub``): models from a repository's ``hubconf.py``, and checkpoints
downloaded once into a cache.

* :func:`load_state_dict_from_url` downloads a checkpoint into ``<hub dir>/checkpoints`` (unless it
  is already there) and loads it with :func:`ember.load`; :func:`download_url_to_file` is the
  download (urllib, so ``file://`` URLs work too), into a temporary file renamed at the end.
* :func:`load`, :func:`list` and :func:`help` run a repository's ``hubconf.py``: a local directory
  (``source="local"``) or a GitHub repository downloaded into the hub directory
  (``source="github"``, PyTorch's default, which needs the network).
* :func:`get_dir`/:func:`set_dir`: the hub directory, ``$TORCH_HOME/hub`` by default
  (``$XDG_CACHE_HOME/torch/hub``, else ``~/.cache/torch/hub``), shared with PyTorch's cache.

Checkpoints load with ``weights_only=True`` unless the caller passes ``weights_only=False``: a
file's pickled code runs only when asked for (PyTorch's default here is False). Loading a
repository (:func:`load`, :func:`list`, :func:`help`) runs its ``hubconf.py``: that is what the
caller asks for, as in PyTorch, and GitHub repositories go through PyTorch's ``trust_repo`` check.
Network calls give up after ``_URL_TIMEOUT`` seconds of silence (PyTorch waits forever).

Example:
    >>> import ember, ember.hub, os, pathlib, tempfile
    >>> d = tempfile.mkdtemp()
    >>> ember.save({"w": ember.ones(2)}, os.path.join(d, "src.pt"))
    >>> url = pathlib.Path(d, "src.pt").as_uri()
    >>> ember.hub.load_state_dict_from_url(url, model_dir=os.path.join(d, "cache"), progress=False)["w"]
    Downloading: ...
    tensor([1., 1.])
"""

from __future__ import annotations

import builtins
import contextlib
import errno
import hashlib
import importlib.util
import json
import os
import re
import shutil
import sys
import tempfile
import uuid
import warnings
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import urlparse

__all__ = ["download_url_to_file", "get_dir", "help", "list", "load", "load_state_dict_from_url", "set_dir"]

# matches bfd8deac from resnet18-bfd8deac.pth
HASH_REGEX = re.compile(r"-([a-f0-9]*)\.")
_PATH_SEP = re.compile(r"[/\\]")
_TRUSTED_REPO_OWNERS = ("facebookresearch", "facebookincubator", "pytorch", "fairinternal")
ENV_GITHUB_TOKEN = "GITHUB_TOKEN"
ENV_TORCH_HOME = "TORCH_HOME"
ENV_XDG_CACHE_HOME = "XDG_CACHE_HOME"
DEFAULT_CACHE_DIR = "~/.cache"
VAR_DEPENDENCY = "dependencies"
MODULE_HUBCONF = "hubconf.py"
READ_DATA_CHUNK = 128 * 1024
# seconds a network connect or read may stay silent before it fails: without one, urllib waits
# forever on a host that accepts the connection and never answers (PyTorch's calls have none)
_URL_TIMEOUT = 60.0
_hub_dir: str | None = None


def urlopen(url: Any, *args: Any, **kwargs: Any) -> Any:
    """``urllib.request.urlopen``, imported on first use: importing ``urllib.request`` (http, ssl,
    email) costs more than the rest of this module, and most programs never download."""
    from urllib import request

    return request.urlopen(url, *args, **kwargs)


def _request(url: str, headers: dict[str, str]) -> Any:
    from urllib.request import Request

    return Request(url, headers=headers)


def _urlopen(url: Any) -> Any:
    """``urlopen`` with the timeout; a failure's error names the URL (an unreachable host's is
    otherwise just "Name or service not known"); HTTP errors, which the callers look at by code,
    pass unchanged."""
    try:
        return urlopen(url, timeout=_URL_TIMEOUT)
    except HTTPError:
        raise
    except URLError as e:
        raise URLError(f"{e.reason} (while opening {getattr(url, 'full_url', url)})") from e


# ---- the hub directory --------------------------------------------------------------------------
def _get_torch_home() -> str:
    default = os.path.join(os.getenv(ENV_XDG_CACHE_HOME, DEFAULT_CACHE_DIR), "torch")
    return os.path.expanduser(os.getenv(ENV_TORCH_HOME, default))


def get_dir() -> str:
    """The hub directory, where downloaded repositories and ``checkpoints/`` go: the one given to
    :func:`set_dir`, else ``$TORCH_HOME/hub`` (``$TORCH_HOME`` defaults to
    ``$XDG_CACHE_HOME/torch``, and ``$XDG_CACHE_HOME`` to ``~/.cache``).

    Example:
        >>> import ember.hub
        >>> ember.hub.get_dir().endswith("hub")
        True
    """
    if os.getenv("TORCH_HUB"):
        warnings.warn("TORCH_HUB is deprecated, please use env TORCH_HOME instead", stacklevel=2)
    if _hub_dir is not None:
        return _hub_dir
    return os.path.join(_get_torch_home(), "hub")


def set_dir(d: str | os.PathLike) -> None:
    """Use ``d`` (``~`` expanded) as the hub directory from now on.

    Example:
        >>> import ember.hub, tempfile
        >>> old = ember.hub._hub_dir
        >>> d = tempfile.mkdtemp(); ember.hub.set_dir(d); ember.hub.get_dir() == d
        True
        >>> ember.hub._hub_dir = old
    """
    global _hub_dir
    _hub_dir = os.path.expanduser(d)


# ---- hubconf.py ------------------------------------------------------------------------------
@contextlib.contextmanager
def _add_to_sys_path(path: str) -> Iterator[None]:
    # hubconf.py imports the repository's own modules by their top-level names
    sys.path.insert(0, path)
    try:
        yield
    finally:
        sys.path.remove(path)


def _import_module(name: str, path: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise AssertionError(f"failed to load spec from {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _import_hubconf(repo_dir: str) -> ModuleType:
    with _add_to_sys_path(repo_dir):
        return _import_module(MODULE_HUBCONF, os.path.join(repo_dir, MODULE_HUBCONF))


def _load_attr_from_module(module: ModuleType, name: str) -> Any:
    return getattr(module, name) if name in dir(module) else None


def _check_dependencies(module: ModuleType) -> None:
    """hubconf's ``dependencies`` list: every package it names must be importable."""
    deps = _load_attr_from_module(module, VAR_DEPENDENCY)
    if deps is not None:
        missing = [pkg for pkg in deps if importlib.util.find_spec(pkg) is None]
        if missing:
            raise RuntimeError(f"Missing dependencies: {', '.join(missing)}")


def _load_entry_from_hubconf(module: ModuleType, model: Any) -> Callable:
    if not isinstance(model, str):
        raise ValueError("Invalid input: model should be a string of function name")
    # a dependency imported at hubconf's top level has already failed by now, with Python's own error
    _check_dependencies(module)
    func = _load_attr_from_module(module, model)
    if func is None or not callable(func):
        raise RuntimeError(f"Cannot find callable {model} in hubconf")
    return func


def _load_local(hubconf_dir: str, model: str, *args: Any, **kwargs: Any) -> Any:
    # the entrypoint runs with the repository on sys.path too: it may import its modules lazily
    with _add_to_sys_path(hubconf_dir):
        module = _import_module(MODULE_HUBCONF, os.path.join(hubconf_dir, MODULE_HUBCONF))
        entry = _load_entry_from_hubconf(module, model)
        return entry(*args, **kwargs)


# ---- GitHub repositories -------------------------------------------------------------------------
def _remove_if_exists(path: str) -> None:
    if os.path.isfile(path):
        os.remove(path)
    elif os.path.exists(path):
        shutil.rmtree(path)


def _check_zip_members(zf: zipfile.ZipFile, extract_to: str) -> None:
    """Refuse an archive with an absolute path or ``..`` in any member (a zip-slip archive), as
    PyTorch does; checked for every member before anything is removed or written."""
    root = Path(extract_to).resolve(strict=False)
    for member in zf.infolist():
        name = os.path.normpath(member.filename)
        if name.startswith(("/", "\\")) or (len(name) >= 2 and name[1] == ":" and name[0].isalpha()):
            raise ValueError(f"Archive entry has absolute path: {member.filename}")
        if ".." in _PATH_SEP.split(name):
            raise ValueError(f"Archive entry contains directory traversal: {member.filename}")
        if not (root / name).resolve(strict=False).is_relative_to(root):
            raise ValueError(f"Archive entry escapes target directory: {member.filename}")


def _safe_extract_zip(zf: zipfile.ZipFile, extract_to: str) -> None:
    """Extract every member, refusing absolute paths and ``..`` (a zip-slip archive) as PyTorch does."""
    _check_zip_members(zf, extract_to)
    root = Path(extract_to).resolve(strict=False)
    for member in zf.infolist():
        zf.extract(member, root)


def _archive_top_folder(zf: zipfile.ZipFile, hub_dir: str) -> str:
    """The folder a repository archive extracts into: its first member's top-level name inside
    ``hub_dir``. PyTorch removes ``hub_dir/<first member>`` before its zip-slip check runs, so an
    archive whose first entry is ``../../x`` deletes ``x``; here every member is checked first and
    the folder must be one plain name (not ``.``), so only a folder inside ``hub_dir`` is replaced."""
    members = zf.infolist()
    if not members:
        raise ValueError("The repository archive is empty")
    _check_zip_members(zf, hub_dir)
    top = _PATH_SEP.split(os.path.normpath(members[0].filename))[0]
    if top in ("", ".", ".."):
        raise ValueError(f"Archive entry does not name a folder: {members[0].filename}")
    return os.path.join(hub_dir, top)


def _git_archive_link(repo_owner: str, repo_name: str, ref: str) -> str:
    return f"https://github.com/{repo_owner}/{repo_name}/zipball/{ref}"


def _parse_repo_info(github: str) -> tuple[str, str, str]:
    """``owner/name[:ref]`` as (owner, name, ref); without a ref, ``main`` if GitHub has that branch,
    else ``master``, and with no network whichever of the two the cache holds."""
    repo_info, ref = github.split(":") if ":" in github else (github, None)
    repo_owner, repo_name = repo_info.split("/")
    if ref is None:
        try:
            with _urlopen(f"https://github.com/{repo_owner}/{repo_name}/tree/main/"):
                ref = "main"
        except HTTPError as e:
            if e.code != 404:
                raise
            ref = "master"
        except URLError as e:
            for candidate in ("main", "master"):
                if os.path.exists(f"{get_dir()}/{repo_owner}_{repo_name}_{candidate}"):
                    ref = candidate
                    break
            if ref is None:
                raise RuntimeError("It looks like there is no internet connection and the repo could not be found "
                                   f"in the cache ({get_dir()})") from e
    return repo_owner, repo_name, ref


def _read_url(url: Any) -> str:
    with _urlopen(url) as r:
        return r.read().decode(r.headers.get_content_charset("utf-8"))


def _validate_not_a_forked_repo(repo_owner: str, repo_name: str, ref: str) -> None:
    """``ref`` must be a branch, tag or commit of the repository itself (GitHub serves a fork's
    commits under the parent's name too): checked through GitHub's API."""
    headers = {"Accept": "application/vnd.github.v3+json"}
    token = os.environ.get(ENV_GITHUB_TOKEN)
    if token is not None:
        headers["Authorization"] = f"token {token}"
    for prefix in (f"https://api.github.com/repos/{repo_owner}/{repo_name}/branches",
                   f"https://api.github.com/repos/{repo_owner}/{repo_name}/tags"):
        page = 0
        while True:
            page += 1
            url = f"{prefix}?per_page=100&page={page}"
            try:
                response = json.loads(_read_url(_request(url, headers)))
            except HTTPError:  # the token may lack the permission: once more without it
                headers.pop("Authorization", None)
                response = json.loads(_read_url(_request(url, headers)))
            if not response:
                break
            if any(br["name"] == ref or br["commit"]["sha"].startswith(ref) for br in response):
                return
    raise ValueError(f"Cannot find {ref} in https://github.com/{repo_owner}/{repo_name}. If it's a commit from a "
                     "forked repo, please call hub.load() with forked repo directly.")


def _check_repo_is_trusted(repo_owner: str, repo_name: str, owner_name_branch: str, trust_repo: Any) -> None:
    """PyTorch's ``trust_repo``: True trusts (and remembers) the repository; False asks on stdin;
    "check" asks only for a repository neither in ``<hub dir>/trusted_list``, nor already
    downloaded, nor owned by PyTorch's trusted owners."""
    hub_dir = get_dir()
    filepath = os.path.join(hub_dir, "trusted_list")
    if not os.path.exists(filepath):
        Path(filepath).touch()
    with open(filepath) as f:
        trusted = tuple(line.strip() for line in f)
    # a repository downloaded before trust_repo existed counts as trusted
    downloaded = next(os.walk(hub_dir))[1]
    owner_name = f"{repo_owner}_{repo_name}"
    is_trusted = owner_name in trusted or owner_name_branch in downloaded or repo_owner in _TRUSTED_REPO_OWNERS
    if trust_repo is False or (trust_repo == "check" and not is_trusted):
        response = input(f"The repository {owner_name} does not belong to the list of trusted repositories and as "
                         "such cannot be downloaded. Do you trust this repository and wish to add it to the trusted "
                         "list of repositories (y/N)?")
        if response.lower() in ("y", "yes"):
            if is_trusted:
                print("The repository is already trusted.")
        elif response.lower() in ("n", "no", ""):
            raise Exception("Untrusted repository.")  # noqa: TRY002 - PyTorch's exception type
        else:
            raise ValueError(f"Unrecognized response {response}.")
    if not is_trusted:
        with open(filepath, "a") as f:
            f.write(owner_name + "\n")


def _get_cache_or_reload(github: str, force_reload: bool, trust_repo: Any, verbose: bool = True,
                         skip_validation: bool = False) -> str:
    """The directory of repository ``github`` in the hub directory, downloaded (its zip archive,
    extracted) unless the cache has it already."""
    hub_dir = get_dir()
    os.makedirs(hub_dir, exist_ok=True)
    repo_owner, repo_name, ref = _parse_repo_info(github)
    # a branch name may hold '/', which would read as a folder
    branch = ref.replace("/", "_")
    owner_name_branch = "_".join([repo_owner, repo_name, branch])
    repo_dir = os.path.join(hub_dir, owner_name_branch)
    _check_repo_is_trusted(repo_owner, repo_name, owner_name_branch, trust_repo=trust_repo)
    if not force_reload and os.path.exists(repo_dir):
        if verbose:
            sys.stderr.write(f"Using cache found in {repo_dir}\n")
        return repo_dir
    if not skip_validation:
        _validate_not_a_forked_repo(repo_owner, repo_name, ref)
    cached_file = os.path.join(hub_dir, branch + ".zip")
    _remove_if_exists(cached_file)
    try:
        url = _git_archive_link(repo_owner, repo_name, ref)
        sys.stdout.write(f'Downloading: "{url}" to {cached_file}\n')
        download_url_to_file(url, cached_file, progress=False)
    except HTTPError as err:
        if err.code != 300:
            raise
        # 300 Multiple Choices: the ref is both a tag and a branch; take the branch, as git does
        warnings.warn(f"The ref {ref} is ambiguous. Perhaps it is both a tag and a branch in the repo? Torchhub will "
                      "now assume that it's a branch. You can disambiguate tags and branches by explicitly passing "
                      "refs/heads/branch_name or refs/tags/tag_name as the ref. That might require using "
                      "skip_validation=True.", stacklevel=2)
        download_url_to_file(_git_archive_link(repo_owner, repo_name, f"refs/heads/{ref}"), cached_file,
                             progress=False)
    with zipfile.ZipFile(cached_file) as zf:
        # GitHub names the archive's top folder itself (repo-v1.2 becomes repo-1.2): read it from the zip
        extracted = _archive_top_folder(zf, hub_dir)
        _remove_if_exists(extracted)
        _safe_extract_zip(zf, hub_dir)
    _remove_if_exists(cached_file)
    _remove_if_exists(repo_dir)
    shutil.move(extracted, repo_dir)
    return repo_dir


def _repo_dir(repo_or_dir: str, source: str, force_reload: bool, trust_repo: Any, verbose: bool,
              skip_validation: bool) -> str:
    source = source.lower()
    if source not in ("github", "local"):
        raise ValueError(f'Unknown source: "{source}". Allowed values: "github" | "local".')
    if source == "local":
        return repo_or_dir
    return _get_cache_or_reload(repo_or_dir, force_reload, trust_repo, verbose=verbose,
                                skip_validation=skip_validation)


def list(github: str, force_reload: bool = False, skip_validation: bool = False, trust_repo: Any = "check",
         verbose: bool = True, *, source: str = "github") -> builtins.list[str]:
    """The entrypoints of a repository's ``hubconf.py``: its callables whose name does not start
    with ``_``. ``github`` is ``"owner/name[:ref]"``; ``source="local"`` (ember's addition; PyTorch's
    ``list`` reads GitHub only) takes a local directory instead.

    Example:
        >>> import ember.hub, os, tempfile
        >>> d = tempfile.mkdtemp()
        >>> with open(os.path.join(d, "hubconf.py"), "w") as f:
        ...     _ = f.write("dependencies = []\\ndef tiny():\\n    return 1\\ndef _helper():\\n    pass\\n")
        >>> ember.hub.list(d, source="local")
        ['tiny']
    """
    repo_dir = _repo_dir(github, source, force_reload, trust_repo, verbose, skip_validation)
    module = _import_hubconf(repo_dir)
    return [name for name in dir(module) if callable(getattr(module, name)) and not name.startswith("_")]


def help(github: str, model: str, force_reload: bool = False, skip_validation: bool = False,  # noqa: A001
         trust_repo: Any = "check", *, source: str = "github") -> str | None:
    """The docstring of entrypoint ``model`` of a repository's ``hubconf.py`` (``source="local"``,
    ember's addition, for a local directory).

    Example:
        >>> import ember.hub, os, tempfile
        >>> d = tempfile.mkdtemp()
        >>> with open(os.path.join(d, "hubconf.py"), "w") as f:
        ...     _ = f.write('def tiny():\\n    "A tiny model."\\n    return 1\\n')
        >>> ember.hub.help(d, "tiny", source="local")
        'A tiny model.'
    """
    repo_dir = _repo_dir(github, source, force_reload, trust_repo, True, skip_validation)
    return _load_entry_from_hubconf(_import_hubconf(repo_dir), model).__doc__


def load(repo_or_dir: str, model: str, *args: Any, source: str = "github", trust_repo: Any = "check",
         force_reload: bool = False, verbose: bool = True, skip_validation: bool = False, **kwargs: Any) -> Any:
    """Call entrypoint ``model`` of a repository's ``hubconf.py`` with ``*args``/``**kwargs`` and
    return what it returns (usually a model).

    Args:
        repo_or_dir: ``"owner/name[:ref]"`` for ``source="github"`` (without a ref: ``main`` if the
            repository has it, else ``master``), a local directory for ``source="local"``.
        model: the entrypoint's name.
        source: ``"github"`` (downloaded once into :func:`get_dir`; needs the network unless
            cached) or ``"local"``.
        trust_repo: for GitHub: ``True``, ``False`` (ask) or ``"check"`` (ask unless trusted).
        force_reload: download the GitHub repository again even if cached.
        verbose: say when the cache is used.
        skip_validation: skip checking through GitHub's API that the ref is the repository's own.

    The repository's ``hubconf.py`` runs (with the repository on ``sys.path``): only load code you
    trust. A ``dependencies`` list in it names the packages it needs (``RuntimeError`` listing the
    missing ones).

    Example:
        >>> import ember, ember.hub, os, tempfile
        >>> d = tempfile.mkdtemp()
        >>> with open(os.path.join(d, "hubconf.py"), "w") as f:
        ...     _ = f.write("import ember\\ndef linear(n=2):\\n    return ember.nn.Linear(n, 1)\\n")
        >>> ember.hub.load(d, "linear", 3, source="local")
        Linear(in_features=3, out_features=1, bias=True)
    """
    repo_dir = _repo_dir(repo_or_dir, source, force_reload, trust_repo, verbose, skip_validation)
    return _load_local(repo_dir, model, *args, **kwargs)


# ---- downloads and checkpoints ---------------------------------------------------------------
def _progress_bar(total: int | None, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, disable=not enabled, unit="B", unit_scale=True, unit_divisor=1024)


def download_url_to_file(url: str, dst: str, hash_prefix: str | None = None, progress: bool = True) -> None:
    """Download ``url`` to the file ``dst``.

    The bytes go to a new temporary file next to ``dst``, renamed to ``dst`` once complete, so an
    interrupted or failed download never replaces a good file. With ``hash_prefix``, the SHA-256
    of the content must start with it (else ``RuntimeError``, and no file is left).

    Example:
        >>> import ember.hub, os, pathlib, tempfile
        >>> d = tempfile.mkdtemp()
        >>> _ = pathlib.Path(d, "a.txt").write_bytes(b"hello")
        >>> ember.hub.download_url_to_file(pathlib.Path(d, "a.txt").as_uri(), os.path.join(d, "b.txt"), progress=False)
        >>> pathlib.Path(d, "b.txt").read_bytes()
        b'hello'
    """
    dst = os.path.expanduser(dst)
    # not NamedTemporaryFile: its 0600 permissions would stay on the renamed file
    for _ in range(tempfile.TMP_MAX):
        tmp = f"{dst}.{uuid.uuid4().hex}.partial"
        try:
            f = open(tmp, "xb")  # noqa: SIM115 - closed in the finally below
        except FileExistsError:
            continue
        break
    else:
        raise FileExistsError(errno.EEXIST, "No usable temporary file name found")
    try:
        with _urlopen(_request(url, {"User-Agent": "torch.hub"})) as u:
            lengths = u.info().get_all("Content-Length")
            size = int(lengths[0]) if lengths else None
            sha256 = hashlib.sha256() if hash_prefix is not None else None
            with _progress_bar(size, progress) as bar:
                while chunk := u.read(READ_DATA_CHUNK):
                    f.write(chunk)
                    if sha256 is not None:
                        sha256.update(chunk)
                    bar.update(len(chunk))
        f.close()
        if sha256 is not None:
            digest = sha256.hexdigest()
            if digest[:len(hash_prefix)] != hash_prefix:
                raise RuntimeError(f'invalid hash value (expected "{hash_prefix}", got "{digest}")')
        shutil.move(tmp, dst)
    finally:
        f.close()
        if os.path.exists(tmp):
            os.remove(tmp)


def _is_legacy_zip_format(filename: str) -> bool:
    """A zip of one file: how checkpoints of PyTorch < 1.6 were shipped by hand (a ``torch.save``
    zip checkpoint holds several entries)."""
    if zipfile.is_zipfile(filename):
        with zipfile.ZipFile(filename) as zf:
            members = zf.infolist()
        return len(members) == 1 and not members[0].is_dir()
    return False


def _legacy_zip_load(filename: str, model_dir: str, map_location: Any, weights_only: bool | None) -> Any:
    import ember

    warnings.warn("Falling back to the old format < 1.6. This support will be deprecated in favor of default zipfile "
                  "format introduced in 1.6. Please redo torch.save() to save it in the new zipfile format.",
                  FutureWarning, stacklevel=3)
    with zipfile.ZipFile(filename) as zf:
        members = zf.infolist()
        if len(members) != 1:
            raise RuntimeError("Only one file(not dir) is allowed in the zipfile")
        _safe_extract_zip(zf, model_dir)
        extracted = os.path.join(model_dir, members[0].filename)
    return ember.load(extracted, map_location=map_location, weights_only=weights_only)


def load_state_dict_from_url(url: str, model_dir: str | None = None, map_location: Any = None, progress: bool = True,
                             check_hash: bool = False, file_name: str | None = None,
                             weights_only: bool | None = None) -> Any:
    """Load the checkpoint at ``url``, downloading it into ``model_dir`` first unless already there.

    Args:
        url: where the checkpoint is (``https://``, ``file://``...).
        model_dir: the cache folder; default ``<hub dir>/checkpoints`` (:func:`get_dir`).
        map_location: as for :func:`ember.load`.
        progress: show a progress bar on stderr while downloading.
        check_hash: the file name must look like ``name-<sha256 prefix>.ext``; the download's
            SHA-256 must start with that prefix (``RuntimeError`` otherwise, and nothing is kept).
        file_name: the name to save under; default the URL's last path part.
        weights_only: as for :func:`ember.load`. The default (None) is ember's safe load: tensors
            and plain containers only; pass False for a file you trust that pickles other
            objects (PyTorch's default here is False).

    A file already in ``model_dir`` is loaded as it is (the hash is checked only on download). A
    zip holding one file (how checkpoints of PyTorch < 1.6 were shipped) is extracted first.

    Example:
        >>> import ember, ember.hub, os, pathlib, tempfile
        >>> d = tempfile.mkdtemp()
        >>> ember.save([ember.zeros(1)], os.path.join(d, "m.pt"))
        >>> ember.hub.load_state_dict_from_url(pathlib.Path(d, "m.pt").as_uri(), os.path.join(d, "c"),
        ...                                    progress=False, file_name="copy.pt")
        Downloading: ...
        [tensor([0.])]
    """
    import ember

    if os.getenv("TORCH_MODEL_ZOO"):
        warnings.warn("TORCH_MODEL_ZOO is deprecated, please use env TORCH_HOME instead", stacklevel=2)
    if model_dir is None:
        model_dir = os.path.join(get_dir(), "checkpoints")
    os.makedirs(model_dir, exist_ok=True)
    filename = file_name if file_name is not None else os.path.basename(urlparse(url).path)
    cached_file = os.path.join(model_dir, filename)
    if not os.path.exists(cached_file):
        sys.stdout.write(f'Downloading: "{url}" to {cached_file}\n')
        hash_prefix = None
        if check_hash:
            match = HASH_REGEX.search(filename)
            hash_prefix = match.group(1) if match else None
        download_url_to_file(url, cached_file, hash_prefix, progress=progress)
    if _is_legacy_zip_format(cached_file):
        return _legacy_zip_load(cached_file, model_dir, map_location, weights_only)
    return ember.load(cached_file, map_location=map_location, weights_only=weights_only)
