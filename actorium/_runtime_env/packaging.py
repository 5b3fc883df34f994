"""Directories and zip files as content-addressed packages: ``pkg://<hash>.zip``.

A ``working_dir`` or ``py_modules`` entry is zipped once on the submitting side, named by a
hash of what it holds, and uploaded to the cluster only if the cluster lacks that hash; each
node unpacks it once into its cache. The zip is deterministic (sorted names, fixed times), so
the same files always give the same name whoever zips them.

* ``working_dir``: the directory's *contents* are the package (unpacked, it is the worker's
  current directory). A ``.zip`` whose entries all sit in one top-level directory is unwrapped,
  as Ray does.
* ``py_modules``: the directory itself is the package (``mymod/...``), so that adding the
  unpacked directory to ``sys.path`` makes ``import mymod`` work; a ``.py`` file likewise.

Left out: ``excludes`` and the patterns of a ``.gitignore`` at the top of the directory
(gitignore syntax: ``*``, ``**``, ``?``, ``[...]``, a leading ``/`` anchors, a trailing ``/``
means directories only, ``!`` re-includes), plus ``.git`` and ``__pycache__``.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import stat
import zipfile
from collections.abc import Callable, Iterator

from actorium._runtime_env.spec import PACKAGE_SCHEME

MAX_PACKAGE_BYTES = int(os.environ.get("ACTORIUM_MAX_PACKAGE_MB", "512")) * 1024 * 1024
_ALWAYS_LEFT_OUT = (".git", "__pycache__")
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)


class PackageTooLarge(ValueError):
    """A directory zips to more than the cluster accepts in one package."""


def package(path: str, excludes: list[str], *, as_module: bool) -> tuple[str, bytes]:
    """(``pkg://<hash>.zip``, zip bytes) for a local directory, ``.zip`` or ``.py`` file.

    Blocks while it reads the files (call it off any event loop). Raises ``ValueError`` if
    the result is larger than ``MAX_PACKAGE_BYTES``, naming the biggest files.
    """
    if os.path.isdir(path):
        prefix = os.path.basename(os.path.normpath(path)) + "/" if as_module else ""
        data = _zip(path, list(_walk(path, excludes)), prefix)
    elif path.endswith(".zip"):
        with open(path, "rb") as file:
            data = file.read() if as_module else _unwrap_single_directory(file.read())
    else:   # a single .py module
        data = _zip(os.path.dirname(path), [os.path.basename(path)], "")
    if len(data) > MAX_PACKAGE_BYTES:
        raise PackageTooLarge(
            f"{path} zips to {len(data) / 2**20:.1f} MiB, more than the "
            f"{MAX_PACKAGE_BYTES / 2**20:.0f} MiB a package may hold "
            f"(ACTORIUM_MAX_PACKAGE_MB); leave large files out with runtime_env "
            f"'excludes' or a .gitignore{_largest(path) if os.path.isdir(path) else ''}")
    return uri_of(data), data


def uri_of(data: bytes) -> str:
    return f"{PACKAGE_SCHEME}{hashlib.blake2b(data, digest_size=16).hexdigest()}.zip"


def package_name(uri: str) -> str:
    """The file name of a package URI (``<hash>.zip``), checked to be nothing but that."""
    name = uri.removeprefix(PACKAGE_SCHEME)
    if not re.fullmatch(r"[0-9a-f]{32}\.zip", name):
        raise ValueError(f"{uri!r} is not a package URI ({PACKAGE_SCHEME}<hash>.zip)")
    return name


def verify(uri: str, data: bytes) -> None:
    """Raise ValueError unless ``data`` is the package that ``uri`` names."""
    if uri_of(data) != f"{PACKAGE_SCHEME}{package_name(uri)}":
        raise ValueError(f"the bytes uploaded as {uri} do not match its hash")


def extract(data: bytes, target: str) -> None:
    """Unpack a package into ``target`` (created); entries may not leave it."""
    temporary = f"{target}.partial-{os.getpid()}"
    shutil.rmtree(temporary, ignore_errors=True)
    os.makedirs(temporary)
    root = os.path.realpath(temporary)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            destination = os.path.realpath(os.path.join(root, info.filename))
            if not destination.startswith(root + os.sep):
                raise ValueError(f"the package holds an entry outside its root: "
                                 f"{info.filename!r}")
            archive.extract(info, root)
            mode = (info.external_attr >> 16) & 0o777
            if mode and not info.is_dir():
                os.chmod(destination, mode)
    if os.path.exists(target):   # unpacked meanwhile by someone else: same content
        shutil.rmtree(temporary)
    else:
        os.replace(temporary, target)


# ---------------------------------------------------------------------- zipping
def _walk(root: str, excludes: list[str]) -> Iterator[str]:
    """Relative paths of the files to package, sorted, without the left-out ones."""
    patterns = list(excludes)
    gitignore = os.path.join(root, ".gitignore")
    if os.path.isfile(gitignore):
        with open(gitignore, errors="replace") as file:
            patterns += [line.rstrip("\n") for line in file]
    left_out = ignore_matcher(patterns)
    for directory, subdirs, files in os.walk(root):
        relative_dir = os.path.relpath(directory, root)
        relative_dir = "" if relative_dir == "." else relative_dir.replace(os.sep, "/") + "/"
        subdirs[:] = sorted(d for d in subdirs if d not in _ALWAYS_LEFT_OUT
                            and not left_out(relative_dir + d, True))
        for name in sorted(files):
            relative = relative_dir + name
            if not left_out(relative, False):
                yield relative


def _zip(root: str, files: list[str], prefix: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for relative in files:
            full = os.path.join(root, relative)
            if os.path.islink(full) and not os.path.exists(full):
                continue   # a dangling symlink has nothing to ship
            info = zipfile.ZipInfo(prefix + relative, date_time=_FIXED_TIME)
            info.external_attr = (stat.S_IMODE(os.stat(full).st_mode) | stat.S_IFREG) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            with open(full, "rb") as file:
                archive.writestr(info, file.read())
    return buffer.getvalue()


def _unwrap_single_directory(data: bytes) -> bytes:
    """A zip whose entries all sit under one top-level directory, re-zipped without it."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = [n for n in archive.namelist() if n]
        tops = {n.split("/", 1)[0] for n in names}
        if len(tops) != 1 or not all("/" in n for n in names):
            return data
        top = tops.pop() + "/"
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out:
            for info in archive.infolist():
                if info.filename == top or info.is_dir():
                    continue
                copy = zipfile.ZipInfo(info.filename[len(top):], date_time=_FIXED_TIME)
                copy.external_attr = info.external_attr
                copy.compress_type = zipfile.ZIP_DEFLATED
                out.writestr(copy, archive.read(info))
    return buffer.getvalue()


def _largest(root: str) -> str:
    sizes = []
    for directory, _dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(directory, name)
            try:
                sizes.append((os.path.getsize(path), os.path.relpath(path, root)))
            except OSError:
                continue
    top = sorted(sizes, reverse=True)[:3]
    return "; largest files: " + ", ".join(f"{p} ({s / 2**20:.1f} MiB)" for s, p in top)


# ---------------------------------------------------------------------- gitignore patterns
def ignore_matcher(patterns: list[str]) -> Callable[[str, bool], bool]:
    """A function ``(relative path, is_dir) -> left out?`` for gitignore-style patterns."""
    rules: list[tuple[re.Pattern[str], bool, bool]] = []   # (regex, negated, dirs only)
    for raw in patterns:
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        line = line[1:] if negated else line
        dirs_only = line.endswith("/")
        line = line.rstrip("/")
        anchored = "/" in line
        line = line.lstrip("/")
        if not line:
            continue
        body = _glob_to_regex(line)
        below = "(?P<below>/.*)?$"
        regex = f"^{body}{below}" if anchored else f"^(.*/)?{body}{below}"
        rules.append((re.compile(regex), negated, dirs_only))

    def left_out(path: str, is_dir: bool) -> bool:
        result = False
        for regex, negated, dirs_only in rules:
            match = regex.match(path)
            if match is None:
                continue
            # "dir/" matches the directory itself, or anything below it.
            if dirs_only and not is_dir and not match.group("below"):
                continue
            result = not negated
        return result

    return left_out


def _glob_to_regex(glob: str) -> str:
    out = []
    index = 0
    while index < len(glob):
        char = glob[index]
        if glob.startswith("**/", index):
            out.append("(.*/)?")
            index += 3
            continue
        if glob.startswith("**", index):
            out.append(".*")
            index += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = glob.find("]", index + 1)
            if end == -1:
                out.append(re.escape(char))
            else:
                out.append(glob[index:end + 1].replace("[!", "[^"))
                index = end
        else:
            out.append(re.escape(char))
        index += 1
    return "".join(out)


# ---------------------------------------------------------------------- a node's packages
class PackageStore:
    """Uploaded packages, one ``<hash>.zip`` file each, in one directory (a node's, the
    head's). Names are checked and contents verified against them before anything is kept."""

    def __init__(self, directory: str) -> None:
        self.directory = directory

    def _path(self, uri: str) -> str:
        return os.path.join(self.directory, package_name(uri))

    def has(self, uri: str) -> bool:
        return os.path.isfile(self._path(uri))

    def read(self, uri: str) -> bytes | None:
        try:
            with open(self._path(uri), "rb") as file:
                return file.read()
        except FileNotFoundError:
            return None

    def write(self, uri: str, data: bytes) -> None:
        """Keep ``data`` as ``uri`` (ValueError if it is not what the URI names)."""
        verify(uri, data)
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        path = self._path(uri)
        temporary = f"{path}.partial-{os.getpid()}"
        with open(temporary, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
