"""The dashboard's asset installer: it unpacks a package only when its tarball matches the
pinned SHA-512, never writes outside its folder, and leaves installed packages alone.
No network: the registry is a dictionary of URLs."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import tarfile
from pathlib import Path

import pytest

from sim.assets import ASSETS, MARKER, Asset, AssetError, install, missing, verify

REGISTRY = "https://registry.example"


def _tarball(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def _integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


class FakeRegistry:
    """URL → body; records every URL read. A package's metadata points at its tarball."""

    def __init__(self):
        self.bodies: dict[str, bytes] = {}
        self.read: list[str] = []

    def publish(self, package: str, version: str, tarball: bytes,
                integrity: str | None = None) -> Asset:
        url = f"{REGISTRY}/{package}/-/{package.split('/')[-1]}-{version}.tgz"
        integrity = integrity or _integrity(tarball)
        self.bodies[f"{REGISTRY}/{package.replace('/', '%2F')}/{version}"] = json.dumps(
            {"name": package, "version": version,
             "dist": {"tarball": url, "integrity": integrity}}).encode()
        self.bodies[url] = tarball
        return Asset(package, version, f"{package}@{version}", _integrity(tarball))

    def __call__(self, url: str) -> bytes:
        self.read.append(url)
        if url not in self.bodies:
            raise OSError(f"404 {url}")
        return self.bodies[url]


@pytest.fixture
def registry() -> FakeRegistry:
    return FakeRegistry()


def _install(cdn: Path, assets, registry):
    return install(cdn, tuple(assets), fetch=registry, registry=REGISTRY, report=lambda _: None)


def test_installs_the_package_folder_and_marks_it_complete(tmp_path, registry):
    asset = registry.publish("@scope/lib", "1.2.3", _tarball(
        {"package/package.json": b"{}", "package/dist/lib.min.js": b"lib()"}))
    assert missing(tmp_path, (asset,)) == [asset]
    assert _install(tmp_path, [asset], registry) == [asset]
    folder = tmp_path / "@scope" / "lib@1.2.3"
    assert (folder / "dist" / "lib.min.js").read_bytes() == b"lib()"
    assert (folder / MARKER).read_text() == asset.integrity
    assert missing(tmp_path, (asset,)) == []


def test_a_second_install_downloads_nothing(tmp_path, registry):
    asset = registry.publish("lib", "1.0.0", _tarball({"package/a.js": b"a"}))
    _install(tmp_path, [asset], registry)
    registry.read.clear()
    assert _install(tmp_path, [asset], registry) == []
    assert registry.read == []


def test_a_tarball_not_matching_its_integrity_is_not_unpacked(tmp_path, registry):
    asset = registry.publish("lib", "1.0.0", _tarball({"package/a.js": b"a"}))
    tgz = next(url for url in registry.bodies if url.endswith(".tgz"))
    registry.bodies[tgz] = _tarball({"package/a.js": b"evil"})   # tampered on the way
    with pytest.raises(AssetError, match="does not match its integrity"):
        _install(tmp_path, [asset], registry)
    assert list(tmp_path.iterdir()) == []


def test_a_registry_giving_another_integrity_than_the_pinned_one_is_refused(tmp_path,
                                                                            registry):
    tarball = _tarball({"package/a.js": b"a"})
    pinned = registry.publish("lib", "1.0.0", tarball)
    registry.publish("lib", "1.0.0", tarball, integrity=_integrity(b"something else"))
    registry.read.clear()
    with pytest.raises(AssetError, match="not the pinned"):
        _install(tmp_path, [pinned], registry)
    assert not any(url.endswith(".tgz") for url in registry.read)
    assert list(tmp_path.iterdir()) == []


def test_a_tarball_cannot_write_outside_its_folder(tmp_path, registry):
    cdn = tmp_path / "cdn"
    asset = registry.publish("lib", "1.0.0", _tarball(
        {"package/a.js": b"a", "package/../../escaped.js": b"x"}))
    with pytest.raises(AssetError, match="cannot unpack"):
        _install(cdn, [asset], registry)
    assert not (tmp_path / "escaped.js").exists()
    assert not (cdn / "lib@1.0.0").exists()


def test_a_tarball_of_several_folders_is_not_a_package(tmp_path, registry):
    asset = registry.publish("lib", "1.0.0", _tarball({"package/a.js": b"a", "other/b": b""}))
    with pytest.raises(AssetError, match="2 top folders"):
        _install(tmp_path, [asset], registry)


def test_an_incomplete_folder_is_replaced(tmp_path, registry):
    asset = registry.publish("lib", "1.0.0", _tarball({"package/a.js": b"a"}))
    stale = tmp_path / "lib@1.0.0"
    stale.mkdir()
    (stale / "half-written.js").write_text("x")
    _install(tmp_path, [asset], registry)
    assert sorted(p.name for p in stale.iterdir()) == [MARKER, "a.js"]


def test_an_unreachable_registry_is_an_asset_error(tmp_path, registry):
    asset = Asset("lib", "1.0.0", "lib@1.0.0", _integrity(b""))
    with pytest.raises(AssetError, match="cannot download"):
        _install(tmp_path, [asset], registry)


def test_verify_checks_sha512_only():
    data = b"vega"
    assert verify(data, _integrity(data))
    assert not verify(b"vegA", _integrity(data))
    sha256 = "sha256-" + base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert not verify(data, sha256)


def test_the_pinned_assets_are_what_solaras_page_asks_for():
    """Folders are ``<package>@<version>``, or ``@<major>`` where solara's Vega-Lite widget
    asks for a major; every integrity is a SHA-512."""
    for asset in ASSETS:
        major = asset.version.split(".")[0]
        assert asset.folder in (f"{asset.package}@{asset.version}",
                                f"{asset.package}@{major}"), asset
        assert re.fullmatch(r"sha512-[A-Za-z0-9+/]{86}==", asset.integrity), asset
    folders = {a.folder for a in ASSETS}
    assert {"vega@5", "vega-lite@5", "vega-embed@6", "requirejs@2.3.6",
            "@widgetti/solara-vuetify-app@10.1.1"} <= folders
