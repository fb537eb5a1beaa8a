"""A PEP 517 build backend in the standard library only, for this pure-Python package.

`pip install ./clients/python` then needs nothing from an index: no setuptools or wheel download
under build isolation (PyPI is not reachable everywhere this client is built), and
`--no-build-isolation` works too. It builds wheels (and editable wheels) and sdists of
src/wirebus with the metadata below.
"""
import base64
import hashlib
import io
import os
import tarfile
import zipfile

NAME = "wirebus"
VERSION = "0.1.0"
HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = os.path.join(HERE, "src", NAME)
METADATA = """Metadata-Version: 2.1
Name: wirebus
Version: %s
Summary: asyncio client (and blocking facade) for the wirebus messaging broker; standard library only
License: Apache-2.0
Requires-Python: >=3.11
""" % VERSION
WHEEL = "Wheel-Version: 1.0\nGenerator: wirebus_build\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
ENTRY_POINTS = "[console_scripts]\nwirebus-conformance = wirebus.conformance:main\n"
DIST_INFO = "%s-%s.dist-info" % (NAME, VERSION)


def _sources():
    for name in sorted(os.listdir(SRC)):
        if name.endswith(".py"):
            yield "%s/%s" % (NAME, name), os.path.join(SRC, name)


def _write_wheel(directory, files):
    filename = "%s-%s-py3-none-any.whl" % (NAME, VERSION)
    records = []
    with zipfile.ZipFile(os.path.join(directory, filename), "w", zipfile.ZIP_DEFLATED) as z:
        for arcname, data in files:
            z.writestr(arcname, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            records.append("%s,sha256=%s,%d" % (arcname, digest, len(data)))
        records.append("%s/RECORD,," % DIST_INFO)
        z.writestr("%s/RECORD" % DIST_INFO, "\n".join(records) + "\n")
    return filename


def _dist_info():
    return [("%s/METADATA" % DIST_INFO, METADATA.encode()), ("%s/WHEEL" % DIST_INFO, WHEEL.encode()),
            ("%s/entry_points.txt" % DIST_INFO, ENTRY_POINTS.encode()),
            ("%s/top_level.txt" % DIST_INFO, (NAME + "\n").encode())]


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    files = []
    for arcname, path in _sources():
        with open(path, "rb") as f:
            files.append((arcname, f.read()))
    return _write_wheel(wheel_directory, files + _dist_info())


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    pth = (os.path.join(HERE, "src") + "\n").encode()
    return _write_wheel(wheel_directory, [("__editable__.%s.pth" % NAME, pth)] + _dist_info())


def build_sdist(sdist_directory, config_settings=None):
    base = "%s-%s" % (NAME, VERSION)
    filename = base + ".tar.gz"
    with tarfile.open(os.path.join(sdist_directory, filename), "w:gz") as t:
        for rel in ["pyproject.toml", "README.md", "_build/wirebus_build.py"] + [
                "src/%s" % a for a, _ in _sources()]:
            t.add(os.path.join(HERE, rel), arcname="%s/%s" % (base, rel))
        info = tarfile.TarInfo("%s/PKG-INFO" % base)
        data = METADATA.encode()
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    return filename
