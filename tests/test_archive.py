"""Safe extraction: traversal, links, devices, duplicates and caps refuse the whole archive."""

import io
import tarfile
import zipfile

import pytest

from docproc.archive import ArchiveLimits, extract_archive, unpack_once
from docproc.errors import DocprocError


def _zip(path, members):
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members:
            zf.writestr(name, data)
    return path


def _tar(path, infos):
    with tarfile.open(path, "w:gz") as tf:
        for info, data in infos:
            tf.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def _file(name, data=b"x"):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


@pytest.mark.parametrize("evil", ["../evil.txt", "a/../../evil.txt", "/abs/evil.txt", "..\\evil.txt", "C:/evil.txt"])
def test_zip_traversal_refused_and_nothing_written(tmp_path, evil):
    archive = _zip(tmp_path / "a.zip", [("ok.pdf", b"%PDF"), (evil, b"boom")])
    with pytest.raises(DocprocError) as exc:
        extract_archive(archive, tmp_path / "dest")
    assert exc.value.code == "archive_path_traversal"
    assert not (tmp_path / "evil.txt").exists()
    assert not (tmp_path / "dest" / "ok.pdf").exists()  # refused as a whole, before writing


def test_tar_gz_extracts_regular_files(tmp_path):
    archive = _tar(tmp_path / "a.tar.gz", [_file("docs/one.pdf", b"%PDF-1"), _file("two.png", b"\x89PNG")])
    files = extract_archive(archive, tmp_path / "dest")
    assert [p.relative_to(tmp_path / "dest").as_posix() for p in files] == ["docs/one.pdf", "two.png"]
    assert (tmp_path / "dest" / "docs" / "one.pdf").read_bytes() == b"%PDF-1"


@pytest.mark.parametrize("kind", [tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.CHRTYPE, tarfile.FIFOTYPE])
def test_tar_links_and_devices_refused(tmp_path, kind):
    info = tarfile.TarInfo("link")
    info.type = kind
    info.linkname = "/etc/passwd"
    archive = _tar(tmp_path / "a.tar.gz", [_file("ok.pdf"), (info, None)])
    with pytest.raises(DocprocError) as exc:
        extract_archive(archive, tmp_path / "dest")
    assert exc.value.code == "archive_unsafe_member"


def test_zip_symlink_refused(tmp_path):
    info = zipfile.ZipInfo("link")
    info.external_attr = (0o120777 << 16)
    with zipfile.ZipFile(tmp_path / "a.zip", "w") as zf:
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(DocprocError) as exc:
        extract_archive(tmp_path / "a.zip", tmp_path / "dest")
    assert exc.value.code == "archive_unsafe_member"


def test_caps_count_size_and_duplicates(tmp_path):
    many = _zip(tmp_path / "many.zip", [(f"{i}.pdf", b"x") for i in range(6)])
    with pytest.raises(DocprocError, match="archive_too_many_members"):
        extract_archive(many, tmp_path / "d1", ArchiveLimits(max_members=5))
    big = _zip(tmp_path / "big.zip", [("a.pdf", b"x" * 5000), ("b.pdf", b"x" * 5000)])
    with pytest.raises(DocprocError, match="archive_too_large"):
        extract_archive(big, tmp_path / "d2", ArchiveLimits(max_total_bytes=8000))
    with pytest.raises(DocprocError, match="archive_too_large"):
        extract_archive(big, tmp_path / "d3", ArchiveLimits(max_member_bytes=4000))
    dup = _tar(tmp_path / "dup.tar.gz", [_file("a.pdf", b"1"), _file("./a.pdf", b"2")])
    with pytest.raises(DocprocError, match="archive_duplicate_member"):
        extract_archive(dup, tmp_path / "d4")


def test_not_an_archive(tmp_path):
    (tmp_path / "x.zip").write_bytes(b"not a zip at all")
    with pytest.raises(DocprocError, match="archive_unsupported"):
        extract_archive(tmp_path / "x.zip", tmp_path / "d")


def test_unpack_once_reuses_a_finished_extraction(tmp_path):
    archive = _zip(tmp_path / "a.zip", [("a.pdf", b"1")])
    first = unpack_once(archive, tmp_path / "work", "abc")
    (first / "a.pdf").write_bytes(b"changed")  # a second call must not extract again
    assert unpack_once(archive, tmp_path / "work", "abc") == first
    assert (first / "a.pdf").read_bytes() == b"changed"
