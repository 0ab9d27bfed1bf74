"""The dashboard's JavaScript and CSS, served from this machine.

Solara serves the browser's assets through its CDN proxy (``/_solara/cdn/<pkg>@<ver>/...``),
which first looks in ``<sys.prefix>/share/solara/cdn/`` and otherwise downloads from a
public CDN at run time. The dashboard must work without internet (a classroom projector),
so :func:`install` puts every asset there beforehand: it reads each package's metadata
from the npm registry, downloads its tarball over HTTPS, checks it against the pinned
``dist.integrity`` (SHA-512) and unpacks the tarball's top folder (``package/``) into
``<cdn>/<folder>/``. :func:`missing` says what is not there yet.

No Solara import here: ``cvm dashboard`` checks the assets before it loads the app.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import io
import json
import os
import shutil
import site
import sys
import tarfile
import tempfile
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REGISTRY = "https://registry.npmjs.org"
MARKER = ".cvm-integrity"
"""File written into a folder once its package is fully unpacked; holds the integrity."""


@dataclass(frozen=True)
class Asset:
    """One npm package the page loads.

    Attributes:
        package: npm name (``@widgetti/solara-vuetify-app``).
        version: The exact version installed.
        folder: Folder under the CDN directory, as the page asks for it: solara's own
            assets pin an exact version (``requirejs@2.3.6``), its Vega-Lite widget only a
            major one (``vega@5``), which the latest release of that major fills.
        integrity: The registry's ``dist.integrity`` of that version (``sha512-<base64>``).
    """

    package: str
    version: str
    folder: str
    integrity: str


ASSETS: tuple[Asset, ...] = (
    # The page, its widgets and theme (ipyvue < 2), and its module loader.
    Asset("@widgetti/solara-vuetify-app", "10.1.1", "@widgetti/solara-vuetify-app@10.1.1",
          "sha512-Cdu6G7KIBeohT2jyeQUEDr61dhEozY23St+iDwfA3+ZyPZyoIza/n"
          "S4W2g8+dbs0Xhb+WQnXlaRI92TLgeY/Jw=="),
    Asset("requirejs", "2.3.6", "requirejs@2.3.6",
          "sha512-ipEzlWQe6RK3jkzikgCupiTbTvm4S0/CAU5GlgptkN5SO6F3u0UD0"
          "K18wy6ErDqiCyP4J4YYe1HuAShvsxePLg=="),
    Asset("font-awesome", "4.5.0", "font-awesome@4.5.0",
          "sha512-XGGY8CN/NT8e5fKOC/K7CESNQ3+2oYOfZqwZcKgEMtcmTiHtFIH+X"
          "ZWRoU0HtcdwhtSkpWXLfTIUlTdJ4PhX8A=="),
    # The draggable grid SolaraViz lays its charts out on.
    Asset("@widgetti/vue-grid-layout", "2.3.13-alpha.2",
          "@widgetti/vue-grid-layout@2.3.13-alpha.2",
          "sha512-zCPKe2r09eLUDl1NcdL66oPELDsbC07Z2xejPiQpPbE8hLITcr0DH"
          "vPEdL5UITQQilordKJwcxJXDE/QWo/KUA=="),
    # Altair charts (solara's VegaLite widget asks for these majors).
    Asset("vega", "5.33.1", "vega@5",
          "sha512-1fArfVDUqVbb5z8n+/nVQb+VNBzx8svY6CrsyTK4Ujm4yrd9I1auo"
          "KxBAPXLCavY1LcrbHUskQbGUP8gXOzyQw=="),
    Asset("vega-lite", "5.23.0", "vega-lite@5",
          "sha512-l4J6+AWE3DIjvovEoHl2LdtCUkfm4zs8Xxx7INwZEAv+XVb6kR6vI"
          "N1gt3t2gN2gs/y4DYTs/RPoTeYAuEg6mA=="),
    Asset("vega-embed", "6.29.0", "vega-embed@6",
          "sha512-PmlshTLtLFLgWtF/b23T1OwX53AugJ9RZ3qPE2c01VFAbgt3/GSNI"
          "/etzA/GzdrkceXFma+FDHNXUppKuM0U6Q=="),
)
"""Every asset the dashboard's page requests (checked by tests/test_dashboard.py, which
fails if the browser asks for anything beyond 127.0.0.1)."""

Fetch = Callable[[str], bytes]
"""Reads a URL: ``fetch(url) -> body``."""


class AssetError(Exception):
    """An asset could not be downloaded, or its download is not what the registry pins."""


def cdn_dir() -> Path:
    """The folder solara's CDN proxy serves from, found as solara finds it:
    ``$SOLARA_ASSETS_PROXY_CACHE_DIR`` if set, else ``<prefix>/share/solara/cdn`` where
    prefix is the environment solara is installed in (the user's base for a user install,
    else ``sys.prefix``)."""
    configured = os.environ.get("SOLARA_ASSETS_PROXY_CACHE_DIR")
    if configured:
        return Path(configured)
    spec = importlib.util.find_spec("solara")   # finds it without importing it
    user = site.getuserbase()
    prefix = user if spec and spec.origin and user and spec.origin.startswith(user) \
        else sys.prefix
    return Path(prefix) / "share" / "solara" / "cdn"


def missing(cdn: Path, assets: tuple[Asset, ...] = ASSETS) -> list[Asset]:
    """The assets not completely installed in ``cdn``."""
    return [a for a in assets if _marker(cdn, a) != a.integrity]


def install(cdn: Path, assets: tuple[Asset, ...] = ASSETS, fetch: Fetch | None = None,
            registry: str = REGISTRY, report: Callable[[str], None] = print) -> list[Asset]:
    """Install every asset not yet in ``cdn``; returns those it installed. Idempotent: an
    asset already unpacked with the pinned integrity is left alone.

    Each package is first unpacked beside its folder and then moved into place, so a
    folder either holds the whole package or nothing of a new download.

    Args:
        cdn: Target folder (see :func:`cdn_dir`).
        assets: What to install.
        fetch: Reads a URL (default: HTTPS with a 60 s timeout).
        registry: npm registry base URL.
        report: Called with one line per asset installed or already there.

    Raises:
        AssetError: a download failed, the registry's integrity differs from the pinned
            one, the tarball does not match it, or the tarball is not a package.
    """
    fetch = fetch or _https
    todo = missing(cdn, assets)
    for asset in assets:
        if asset not in todo:
            report(f"{asset.folder}: already installed")
    for asset in todo:
        tarball = _download(asset, fetch, registry)
        _unpack(tarball, cdn, asset)
        report(f"{asset.folder}: installed {asset.package} {asset.version} "
               f"({len(tarball) / 1e6:.1f} MB download)")
    return todo


def verify(data: bytes, integrity: str) -> bool:
    """Whether ``data`` has the Subresource Integrity ``integrity`` (``sha512-<base64>``)."""
    algorithm, _, expected = integrity.partition("-")
    if algorithm != "sha512":
        return False
    return base64.b64encode(hashlib.sha512(data).digest()).decode("ascii") == expected


def _download(asset: Asset, fetch: Fetch, registry: str) -> bytes:
    """The verified tarball of ``asset``, located through its registry metadata."""
    name = urllib.parse.quote(asset.package, safe="@")
    url = f"{registry.rstrip('/')}/{name}/{asset.version}"
    try:
        meta = json.loads(_read(fetch, url))
        dist = meta["dist"]
        tarball_url, integrity = dist["tarball"], dist["integrity"]
    except (ValueError, KeyError, TypeError):
        raise AssetError(f"{url}: not the registry's metadata of {asset.package} "
                         f"{asset.version}") from None
    if integrity != asset.integrity:
        raise AssetError(f"{asset.package} {asset.version}: the registry gives integrity "
                         f"{integrity}, not the pinned {asset.integrity}")
    data = _read(fetch, tarball_url)
    if not verify(data, asset.integrity):
        raise AssetError(f"{tarball_url}: the download does not match its integrity "
                         f"{asset.integrity}; nothing was installed")
    return data


def _read(fetch: Fetch, url: str) -> bytes:
    try:
        return fetch(url)
    except OSError as err:   # urllib's errors, timeouts, refused connections
        raise AssetError(f"cannot download {url}: {err}") from None


def _https(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as response:
        return response.read()


def _unpack(tarball: bytes, cdn: Path, asset: Asset) -> None:
    """Unpack the tarball's single top folder (npm's ``package/``) as ``cdn/asset.folder``."""
    target = cdn / asset.folder
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".unpack-") as tmp:
        try:
            with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as tar:
                tops = {Path(m.name).parts[0] for m in tar.getmembers() if Path(m.name).parts}
                if len(tops) != 1:
                    raise AssetError(f"{asset.package}: the tarball holds {len(tops)} top "
                                     "folders, not one package folder")
                # The "data" filter refuses absolute paths, links out of the folder and
                # device files: a tarball cannot write outside tmp.
                tar.extractall(tmp, filter="data")
        except (tarfile.TarError, OSError) as err:
            raise AssetError(f"{asset.package}: cannot unpack the tarball: {err}") from None
        unpacked = Path(tmp) / tops.pop()
        (unpacked / MARKER).write_text(asset.integrity, encoding="ascii")
        if target.exists():
            shutil.rmtree(target)   # an earlier, incomplete or other version
        unpacked.rename(target)


def _marker(cdn: Path, asset: Asset) -> str | None:
    try:
        return (cdn / asset.folder / MARKER).read_text(encoding="ascii")
    except OSError:
        return None
