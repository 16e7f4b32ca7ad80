"""A PEP 517 build backend for the xtrk package that needs only the standard library.

The package is one pure-Python module folder (xtrk/) with no dependency, so a wheel is a zip of
xtrk/*.py and a .dist-info folder; this writes it with zipfile, so that `pip install` needs
nothing from the network (no setuptools, no wheel).  Name and version come from pyproject.toml.
"""

import base64
import hashlib
import io
import os
import re
import tarfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE = "xtrk"
TAG = "py3-none-any"


def _project():
    """name, version and description from pyproject.toml's [project] table."""
    with open(os.path.join(HERE, "pyproject.toml"), encoding="utf-8") as f:
        text = f.read()
    try:
        import tomllib
        table = tomllib.loads(text)["project"]
        return table["name"], table["version"], table.get("description", "")
    except ImportError:  # Python < 3.11: the three plain string keys, read by hand
        body = text.split("[project]", 1)[1].split("\n[", 1)[0]
        keys = dict(re.findall(r'^(\w[\w-]*)\s*=\s*"([^"]*)"', body, re.M))
        return keys["name"], keys["version"], keys.get("description", "")


def _sources():
    """The package's files, relative to this folder, in a stable order."""
    out = []
    for name in sorted(os.listdir(os.path.join(HERE, PACKAGE))):
        if name.endswith(".py"):
            out.append(PACKAGE + "/" + name)
    return out


def _metadata():
    name, version, summary = _project()
    text = (f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
            f"Summary: {summary}\nRequires-Python: >=3.8\n")
    return name, version, text


def _dist_info(name, version):
    return f"{name}-{version}.dist-info"


def _record_line(path, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}\n"


def _write_wheel(directory, payload):
    """Write a wheel of PAYLOAD ((archive name, bytes) pairs) and its .dist-info; its file name."""
    name, version, metadata = _metadata()
    info = _dist_info(name, version)
    files = list(payload)
    files.append((f"{info}/METADATA", metadata.encode()))
    files.append((f"{info}/WHEEL", (f"Wheel-Version: 1.0\nGenerator: {PACKAGE} _build_backend\n"
                                   f"Root-Is-Purelib: true\nTag: {TAG}\n").encode()))
    record = "".join(_record_line(path, data) for path, data in files) + f"{info}/RECORD,,\n"
    files.append((f"{info}/RECORD", record.encode()))
    filename = f"{name}-{version}-{TAG}.whl"
    with zipfile.ZipFile(os.path.join(directory, filename), "w") as z:
        for path, data in files:
            entry = zipfile.ZipInfo(path, date_time=(1980, 1, 1, 0, 0, 0))
            entry.external_attr = 0o644 << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(entry, data)
    return filename


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    name, version, metadata = _metadata()
    info = os.path.join(metadata_directory, _dist_info(name, version))
    os.makedirs(info, exist_ok=True)
    with open(os.path.join(info, "METADATA"), "w", encoding="utf-8") as f:
        f.write(metadata)
    return _dist_info(name, version)


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    payload = []
    for path in _sources():
        with open(os.path.join(HERE, path), "rb") as f:
            payload.append((path, f.read()))
    return _write_wheel(wheel_directory, payload)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    """`pip install -e`: a wheel holding only a .pth file that puts this folder on sys.path."""
    return _write_wheel(wheel_directory, [(f"{PACKAGE}.pth", (HERE + "\n").encode())])


def build_sdist(sdist_directory, config_settings=None):
    name, version, metadata = _metadata()
    base = f"{name}-{version}"
    filename = base + ".tar.gz"
    members = ["pyproject.toml", "_build_backend.py"] + _sources()
    with tarfile.open(os.path.join(sdist_directory, filename), "w:gz", format=tarfile.PAX_FORMAT) as t:
        for path in members:
            t.add(os.path.join(HERE, path), arcname=f"{base}/{path}")
        data = metadata.encode()
        entry = tarfile.TarInfo(f"{base}/PKG-INFO")
        entry.size = len(data)
        t.addfile(entry, io.BytesIO(data))
    return filename
