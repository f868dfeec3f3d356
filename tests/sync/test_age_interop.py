"""Interoperation with Debian's `age` (an independent implementation of age v1), both ways.

The station's sealed batch and its secret packages open with `age -d -i` and
the identity file `sohoa-central keys --age-identity` writes; files `age -r`
makes are read by ``sync.age.AgeReader``; and what our reader rejects, `age`
rejects too.
"""

from __future__ import annotations

import io
import os
import shutil
import stat
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from PIL import Image

from records.package import DocPages, build_package
from records.pdfa import PageInput
from records.sip_verify import verify
from sync.age import CHUNK, AgeError, AgeReader, AgeWriter, parse_recipient, recipient_string
from sync.batch import MAGIC, SIG_DOMAIN, open_batch, seal_batch
from sync.canon import ZERO_HASH, canonical
from sync.keys import load_private, raw_public

AGE = shutil.which("age")
ZSTD = shutil.which("zstd")


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """A receiver root's archive key, its recipient and identity file as `sohoa-central keys` gives them."""
    assert AGE and ZSTD, "Debian packages age and zstd are needed (make test-deps installs them)"
    root = tmp_path_factory.mktemp("rx")
    ident = root / "archive.age-identity"
    out = subprocess.run([sys.executable, "-m", "central", "keys", "--root", str(root), "--age-identity", str(ident)],
                         capture_output=True, text=True, check=True)
    recipient = next(line.split(": ", 1)[1] for line in out.stdout.splitlines()
                     if line.startswith("archive (age recipient): "))
    key = load_private(root / "keys" / "archive_x25519.pem")
    assert stat.S_IMODE(ident.stat().st_mode) == 0o600
    assert raw_public(parse_recipient(recipient)) == raw_public(key)
    # age's own tool derives the same recipient from the identity file.
    assert subprocess.run(["age-keygen", "-y", str(ident)], capture_output=True, text=True,
                          check=True).stdout.strip() == recipient
    # A second run refuses to overwrite the identity file.
    again = subprocess.run([sys.executable, "-m", "central", "keys", "--root", str(root), "--age-identity", str(ident)],
                           capture_output=True, text=True)
    assert again.returncode == 1 and "not overwritten" in again.stderr
    return key, recipient, ident


def _age_decrypt(ident: Path, data: bytes) -> subprocess.CompletedProcess:
    return subprocess.run([AGE, "-d", "-i", str(ident)], input=data, capture_output=True)


def test_station_sealed_batch_opens_with_age_and_zstd(archive, tmp_path):
    key, _recipient, ident = archive
    device = Ed25519PrivateKey.generate()
    members = {"climate.json": b'{"temp_c":"27.5"}', "hs-000001.zip": os.urandom(3 * CHUNK + 123),
               "hs-000002.zip": b"PK" * 40_000}
    for name, data in members.items():
        (tmp_path / name).write_bytes(data)
    sealed = seal_batch(tmp_path / "0000000001.sohoa", [(n, tmp_path / n) for n in members], device_id="dev-1",
                        seq=1, prev=ZERO_HASH, created=1764028800, pages=3, documents=2, climate=None,
                        device_key=device, archive_public=key.public_key())
    assert sealed.manifest["v"] == 2
    raw = sealed.path.read_bytes()
    assert raw.startswith(b"age-encryption.org/v1\n")
    dec = subprocess.run(f"{AGE} -d -i {ident} {sealed.path} | {ZSTD} -d -q -c", shell=True, capture_output=True,
                         check=True)
    mbytes = canonical(sealed.manifest)
    sig_len = struct.unpack(">H", dec.stdout[12 + len(mbytes):14 + len(mbytes)])[0]
    signature = dec.stdout[14 + len(mbytes):14 + len(mbytes) + sig_len]
    device.public_key().verify(signature, SIG_DOMAIN + mbytes)
    body = b"".join(members[m["name"]] for m in sealed.manifest["members"])
    assert dec.stdout == MAGIC + struct.pack(">I", len(mbytes)) + mbytes + struct.pack(">H", 64) + signature + body


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 4 * CHUNK, 1_000_003])
def test_our_files_open_with_age(archive, size):
    key, _recipient, ident = archive
    data = os.urandom(size)
    sink = io.BytesIO()
    w = AgeWriter(sink, key.public_key())
    w.write(data)
    w.close()
    out = _age_decrypt(ident, sink.getvalue())
    assert out.returncode == 0, out.stderr
    assert out.stdout == data


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 4 * CHUNK, 1_000_003])
def test_files_age_encrypts_open_with_our_reader(archive, size):
    key, recipient, _ident = archive
    data = os.urandom(size)
    enc = subprocess.run([AGE, "-r", recipient], input=data, capture_output=True, check=True).stdout
    assert AgeReader(io.BytesIO(enc), key).read() == data


def test_age_with_several_recipients_and_a_recipients_file(archive, tmp_path):
    key, recipient, _ident = archive
    others = [X25519PrivateKey.generate() for _ in range(2)]
    rfile = tmp_path / "recipients.txt"
    rfile.write_text("# staff\n" + "\n".join(recipient_string(k) for k in others) + "\n" + recipient + "\n")
    data = os.urandom(200_000)
    enc = subprocess.run([AGE, "-R", str(rfile)], input=data, capture_output=True, check=True).stdout
    assert enc.count(b"\n-> X25519 ") == 3
    assert AgeReader(io.BytesIO(enc), key).read() == data
    assert AgeReader(io.BytesIO(enc), others[0]).read() == data
    with pytest.raises(AgeError, match="no recipient"):
        AgeReader(io.BytesIO(enc), X25519PrivateKey.generate())


def test_what_we_reject_age_rejects(archive):
    key, recipient, ident = archive
    data = os.urandom(2 * CHUNK + 10)
    enc = subprocess.run([AGE, "-r", recipient], input=data, capture_output=True, check=True).stdout
    end = len(enc) - (2 * CHUNK + 10 + 3 * 16)  # where the payload's chunks begin
    flipped = bytearray(enc)
    flipped[-5] ^= 1
    for bad in (enc[:-1], enc[:end + CHUNK + 16], enc + b"x", bytes(flipped)):
        with pytest.raises(AgeError):
            AgeReader(io.BytesIO(bad), key).read()
        assert _age_decrypt(ident, bad).returncode != 0


def test_station_secret_package_opens_with_age_and_passes_sip_verify(archive, tmp_path):
    """records.package.build_package writes a mode-03 package as an age file that staff open with `age`."""
    key, _recipient, ident = archive
    page = tmp_path / "page.jpg"
    Image.new("RGB", (400, 566), "white").save(page, quality=80, dpi=(50, 50))
    path, folder, pages = build_package(
        file_id=7, cover={"file_code": "H49.64.33.2001.160", "mode": "03", "title": "Hồ sơ mật"},
        docs=[DocPages(1, [PageInput(page, 50, None)])], doc_values=[{}], agency="H49.64.33",
        out_dir=tmp_path / "out", work_dir=tmp_path / "work", recipient_key=raw_public(key.public_key()))
    raw = path.read_bytes()
    assert path.name.endswith(".zip.enc") and raw.startswith(b"age-encryption.org/v1\n")
    assert "Hồ sơ mật".encode() not in raw and b"%PDF" not in raw
    out = subprocess.run([AGE, "-d", "-i", str(ident), "-o", str(tmp_path / "package.zip"), str(path)],
                         capture_output=True)
    assert out.returncode == 0, out.stderr
    assert verify(tmp_path / "package.zip") == []
    assert (tmp_path / "package.zip").read_bytes() == AgeReader(io.BytesIO(raw), key).read()


def test_open_batch_reads_a_batch_whose_age_layer_age_wrote(archive, tmp_path):
    """A second implementation may seal with any age tool: here the zstd stream is encrypted by `age -r`."""
    key, recipient, _ident = archive
    device = Ed25519PrivateKey.generate()
    (tmp_path / "m.bin").write_bytes(os.urandom(100_000))
    ours = seal_batch(tmp_path / "ours.sohoa", [("m.bin", tmp_path / "m.bin")], device_id="dev-2", seq=1,
                      prev=ZERO_HASH, created=1, pages=1, documents=1, climate=None, device_key=device,
                      archive_public=key.public_key())
    compressed = AgeReader(io.BytesIO(ours.path.read_bytes()), key).read()
    theirs = subprocess.run([AGE, "-r", recipient], input=compressed, capture_output=True, check=True).stdout
    opened = open_batch(io.BytesIO(theirs), archive_private=key, device_public=device.public_key(), device_id="dev-2")
    assert opened.batch_hash == ours.batch_hash and opened.manifest == ours.manifest
