"""The file-storage kit: the small `MediaStorage` interface, the local-folder backend and pluggable backends
(`register_backend`, entry-point group `boxoffice.media_storage`), public for the core and every plugin.

Storage only moves bytes under opaque keys; it never decides who may see a file or touches the database.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from pathlib import Path
from typing import BinaryIO

from core.errors import ApiError

ENTRY_POINT_GROUP = "boxoffice.media_storage"

StorageFactory = Callable[[str, dict, Path], "MediaStorage"]


class MediaStorage:
    """A place to keep a tenant's files under keys such as ``<event>/<media>.jpg``.

    A backend implements `save`, `open`, `delete` and `size`. `staging` and `promote` have portable
    defaults (a local temp file, then `save`); a backend may override them to make promotion atomic.
    """

    def save(self, key: str, source: BinaryIO) -> int:
        """Store the bytes read from `source` under `key` (replacing any); return the number stored."""
        raise NotImplementedError

    def open(self, key: str) -> BinaryIO:
        """A binary file object for `key`; FileNotFoundError when there is none."""
        raise NotImplementedError

    def delete(self, key: str) -> None:
        """Remove `key`; a missing key is not an error."""
        raise NotImplementedError

    def size(self, key: str) -> int:
        """The stored size of `key` in bytes; FileNotFoundError when there is none."""
        raise NotImplementedError

    @contextlib.contextmanager
    def staging(self) -> Iterator[Path]:
        """A fresh temporary path to write an upload into; removed on exit unless `promote` moved it."""
        handle, name = tempfile.mkstemp(prefix="boxoffice-media-", suffix=".part")
        os.close(handle)
        path = Path(name)
        try:
            yield path
        finally:
            path.unlink(missing_ok=True)

    def promote(self, staged: Path, key: str) -> None:
        """Make a staged file the content of `key` (called after validation and the database commit)."""
        with staged.open("rb") as source:
            self.save(key, source)


class LocalFolderStorage(MediaStorage):
    """Files in one folder (default ``<data_dir>/media/<org>/``); uploads are staged in ``.incoming/``.

    Staged files sit on the same file system as their final place, so `promote` is an atomic rename.
    """

    INCOMING = ".incoming"

    def __init__(self, root: Path | str):
        self.root = Path(root).resolve()

    def path_for(self, key: str) -> Path:
        """The absolute path of `key`, refusing keys that would leave the root folder."""
        path = (self.root / key).resolve()
        if self.root not in path.parents or key.startswith(self.INCOMING):
            raise ValueError(f"media key {key!r} leaves the storage folder")
        return path

    def save(self, key: str, source: BinaryIO) -> int:
        """Write through a temp file in `.incoming/`, then rename into place."""
        with self.staging() as staged:
            with staged.open("wb") as target:
                shutil.copyfileobj(source, target)
            self.promote(staged, key)
            return self.size(key)

    def open(self, key: str) -> BinaryIO:
        """Open the file for reading."""
        return self.path_for(key).open("rb")

    def delete(self, key: str) -> None:
        """Unlink the file if present."""
        self.path_for(key).unlink(missing_ok=True)

    def size(self, key: str) -> int:
        """The file's size on disk."""
        return self.path_for(key).stat().st_size

    @contextlib.contextmanager
    def staging(self) -> Iterator[Path]:
        """A temp path in ``<root>/.incoming/``, removed on exit unless it was promoted."""
        incoming = self.root / self.INCOMING
        incoming.mkdir(parents=True, exist_ok=True)
        path = incoming / f"{uuid.uuid4().hex}.part"
        try:
            yield path
        finally:
            path.unlink(missing_ok=True)

    def promote(self, staged: Path, key: str) -> None:
        """Atomic rename of the staged file to the key's path."""
        target = self.path_for(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged, target)


def local_storage(org_id: str, settings: dict, data_path: Path) -> LocalFolderStorage:
    """The `local` backend: the `storage_path` setting, else ``<data_dir>/media/<org>``."""
    configured = settings.get("storage_path")
    return LocalFolderStorage(Path(configured) if configured else data_path / "media" / org_id)


_backends: dict[str, StorageFactory] = {"local": local_storage}


def register_backend(name: str, factory: StorageFactory) -> None:
    """Make `factory(org_id, settings, data_path) -> MediaStorage` available as the `storage` setting `name`.

    Packages can instead declare it under the entry-point group `boxoffice.media_storage`.
    """
    _backends[name] = factory


def _find_backend(name: str) -> StorageFactory | None:
    if name in _backends:
        return _backends[name]
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == name:
            _backends[name] = ep.load()
            return _backends[name]
    return None


def storage_for(org_id: str, settings: dict, data_path: Path) -> MediaStorage:
    """The tenant's storage from its media settings (`storage`, default "local")."""
    name = str(settings.get("storage") or "local")
    factory = _find_backend(name)
    if factory is None:
        raise ApiError(f"The media storage {name!r} configured for this organisation is not installed.",
                       status=503, type="media_storage_unavailable")
    return factory(org_id, settings, data_path)
