"""Tests of gradcomp.data: LIBSVM parsing, label mapping, dataset lookup, client splits.

Everything runs offline: downloads are exercised through ``file://`` URLs. The
checks against the real LIBSVM files run only where a local copy exists
(``../shared/datasets/libsvm`` beside the repository, or $GRADCOMP_DATA_MIRROR).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from gradcomp.data import (
    ChecksumMismatchError,
    DataError,
    DatasetMissingError,
    MalformedFileError,
    client_label_counts,
    hetero_split,
    iid_split,
    load_libsvm,
    map_binary_labels,
    resolve_dataset,
    sha256_file,
)
from gradcomp.data import fetch as fetch_mod


def _write(tmp_path: Path, text: str | bytes, name: str = "data.svm") -> Path:
    path = tmp_path / name
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8", newline="")
    else:
        path.write_bytes(text)
    return path


# --------------------------------------------------------------------------- parser


def test_load_basic_values_and_shape(tmp_path):
    path = _write(tmp_path, "1 1:0.5 3:2\n-1 2:-1.5e-1\n+1\n")
    X, y = load_libsvm(path)
    assert isinstance(X, sp.csr_matrix)
    assert X.dtype == np.float64 and y.dtype == np.float64
    assert X.shape == (3, 3)
    np.testing.assert_array_equal(
        X.toarray(), [[0.5, 0.0, 2.0], [0.0, -0.15, 0.0], [0.0, 0.0, 0.0]]
    )
    np.testing.assert_array_equal(y, [1.0, -1.0, 1.0])


def test_load_n_features_override(tmp_path):
    path = _write(tmp_path, "2 2:1\n1 1:3\n")
    X, _ = load_libsvm(path, n_features=5)
    assert X.shape == (2, 5)
    np.testing.assert_array_equal(X.toarray(), [[0, 1, 0, 0, 0], [3, 0, 0, 0, 0]])


def test_load_comments_blank_lines_whitespace_no_final_newline(tmp_path):
    text = (
        "# header comment\n"
        "1 1:1 2:2   # trailing comment\n"
        "\n"
        "-1\t3:3 \t\r\n"
        "   \n"
        "2 1:4 3:5"  # no final newline
    )
    X, y = load_libsvm(_write(tmp_path, text))
    np.testing.assert_array_equal(y, [1.0, -1.0, 2.0])
    np.testing.assert_array_equal(X.toarray(), [[1, 2, 0], [0, 0, 3], [4, 0, 5]])


def test_load_trailing_blank_line(tmp_path):
    X, y = load_libsvm(_write(tmp_path, "1 1:1 \n0 2:1 \n\n"))
    assert X.shape == (2, 2)
    np.testing.assert_array_equal(y, [1.0, 0.0])


def test_load_sorts_indices_and_drops_explicit_zeros(tmp_path):
    X, _ = load_libsvm(_write(tmp_path, "1 4:4 2:2 1:0\n1 3:0\n-1 2:7 1:1\n"))
    assert X.has_sorted_indices
    assert X.nnz == 4  # the two explicit zeros are dropped
    np.testing.assert_array_equal(X.indptr, [0, 2, 2, 4])
    np.testing.assert_array_equal(X.indices, [1, 3, 0, 1])
    np.testing.assert_array_equal(X.data, [2.0, 4.0, 1.0, 7.0])
    # The sorted-indices flag is asserted by the loader: check it is true.
    for i in range(X.shape[0]):
        row = X.indices[X.indptr[i] : X.indptr[i + 1]]
        assert np.all(np.diff(row) > 0)


@pytest.mark.parametrize(
    "text, n_features, line, token",
    [
        ("1 1:1\nabc 1:1\n", None, 2, "abc"),  # non-numeric label
        ("1 1:1\nnan 1:1\n", None, 2, "nan"),  # non-finite label
        ("1 1:1\n1 2\n", None, 2, "2"),  # token without ':'
        ("1 1:1\n\n# c\n1 x:1\n", None, 4, "x:1"),  # blank/comment lines still counted
        ("1 1.5:1\n", None, 1, "1.5:1"),  # non-integer index
        ("1 1:1\n1 0:1\n", None, 2, "0:1"),  # index < 1
        ("1 -2:1\n", None, 1, "-2:1"),
        ("1 :1\n", None, 1, ":1"),
        ("1 1:1 2:abc\n", None, 1, "2:abc"),  # non-numeric value
        ("1 1:\n", None, 1, "1:"),
        ("1 1:inf\n", None, 1, "1:inf"),  # non-finite value
        ("1 1:2:3\n", None, 1, "1:2:3"),
        ("1 1:1\n-1 1:1 2:2 1:3\n", None, 2, "1:3"),  # duplicate index, unsorted row
        ("1 1:1\n1 1:1\n-1 2:1 2:1\n", None, 3, "2:1"),  # duplicate index, adjacent
        ("1 1:1\n1 7:1\n", 5, 2, "7:1"),  # index > n_features
    ],
)
def test_load_malformed_reports_line_and_token(tmp_path, text, n_features, line, token):
    path = _write(tmp_path, text)
    with pytest.raises(MalformedFileError) as info:
        load_libsvm(path, n_features=n_features)
    msg = str(info.value)
    assert f"line {line}:" in msg
    assert repr(token) in msg
    assert str(path) in msg


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"])
def test_load_no_samples_is_malformed(tmp_path, text):
    with pytest.raises(MalformedFileError, match="no samples"):
        load_libsvm(_write(tmp_path, text))


def test_load_binary_file_is_malformed(tmp_path):
    path = _write(tmp_path, b"1 1:1\n\x1f\x8b\x08\xff\xfe\n")
    with pytest.raises(MalformedFileError, match="line 2"):
        load_libsvm(path)


@pytest.mark.parametrize("bad", [0, -3, 2.0, True, "5"])
def test_load_rejects_bad_n_features(tmp_path, bad):
    with pytest.raises(ValueError, match="n_features"):
        load_libsvm(_write(tmp_path, "1 1:1\n"), n_features=bad)


# --------------------------------------------------------------------------- labels


@pytest.mark.parametrize(
    "raw, expected",
    [
        ([1, 2, 2, 1], [-1, 1, 1, -1]),
        ([0, 1, 1, 0], [-1, 1, 1, -1]),
        ([3, -5, 3], [1, -1, 1]),
        ([-1, 1, 1], [-1, 1, 1]),
        ([1, 1, 1], [1, 1, 1]),  # already within {-1, +1}: unchanged
        ([-1, -1], [-1, -1]),
    ],
)
def test_map_binary_labels(raw, expected):
    out = map_binary_labels(np.asarray(raw))
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, expected)


def test_map_binary_labels_returns_new_array():
    y = np.array([-1.0, 1.0])
    out = map_binary_labels(y)
    out[0] = 5.0
    assert y[0] == -1.0


@pytest.mark.parametrize("raw, n_distinct", [([0, 1, 2], 3), ([2, 2, 2], 1), ([0, 0], 1)])
def test_map_binary_labels_rejects_non_binary(raw, n_distinct):
    with pytest.raises(DataError, match=f"found {n_distinct} distinct"):
        map_binary_labels(np.asarray(raw))


# --------------------------------------------------------------------------- fetch

_URL = "https://example.invalid/libsvm/toy"


@pytest.fixture
def toy(tmp_path):
    """A small 'dataset' file in a source directory, with its sha256."""
    src = tmp_path / "src"
    src.mkdir()
    payload = b"1 1:1 2:0.5\n-1 3:2\n" * 1000
    path = src / "toy"
    path.write_bytes(payload)
    return path, hashlib.sha256(payload).hexdigest()


def _resolve(sha, **kw):
    args = dict(filename="toy", url=_URL, sha256=sha, mirror=None, download=False)
    args.update(kw)
    return resolve_dataset("toy", **args)


def test_sha256_file_multi_chunk(tmp_path):
    data = os.urandom((1 << 20) * 2 + 12345)  # spans three 1 MiB chunks
    path = _write(tmp_path, data, "blob")
    assert sha256_file(path) == hashlib.sha256(data).hexdigest()


def test_mirror_hit(toy, tmp_path):
    path, sha = toy
    got = _resolve(sha.upper(), mirror=str(path.parent), cache_dir=tmp_path / "cache")
    assert got == path
    assert not (tmp_path / "cache").exists()


def test_mirror_missing_file(toy, tmp_path):
    _, sha = toy
    mirror = tmp_path / "empty_mirror"
    mirror.mkdir()
    with pytest.raises(DatasetMissingError) as info:
        _resolve(sha, mirror=mirror, cache_dir=tmp_path / "cache", download=True)
    msg = str(info.value)
    assert str(mirror) in msg and "'toy'" in msg
    assert "GRADCOMP_DATA_MIRROR" in msg and "data.mirror=" in msg
    assert _URL in msg and "data.download=true" in msg
    # a mirror is read alone: the advice is to fill it or drop it, not to allow downloads
    assert "use no mirror" in msg and "allow gradcomp to download" not in msg


def test_mirror_is_not_silently_bypassed(toy, tmp_path):
    # A good cached copy must not hide a broken mirror setting.
    path, sha = toy
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "toy").write_bytes(path.read_bytes())
    with pytest.raises(DatasetMissingError, match="does not exist"):
        _resolve(sha, mirror=tmp_path / "no_such_dir", cache_dir=cache)


def test_mirror_bad_checksum(toy, tmp_path):
    path, sha = toy
    wrong = "0" * 64
    with pytest.raises(ChecksumMismatchError) as info:
        _resolve(wrong, mirror=path.parent, cache_dir=tmp_path / "cache")
    msg = str(info.value)
    assert wrong in msg and sha in msg and str(path) in msg


def test_empty_mirror_string_means_no_mirror(toy, tmp_path):
    path, sha = toy
    got = _resolve(sha, mirror="", cache_dir=path.parent)
    assert got == path


def test_download_file_url_then_cache(toy, tmp_path, capsys):
    src, sha = toy
    cache = tmp_path / "cache" / "nested"  # does not exist yet
    got = _resolve(sha, url=src.as_uri(), cache_dir=cache, download=True)
    assert got == cache / "toy"
    assert got.read_bytes() == src.read_bytes()
    assert sorted(os.listdir(cache)) == ["toy"]  # no temporary left over
    err = capsys.readouterr()
    assert err.out == ""
    assert len(err.err.strip().splitlines()) == 1 and "downloading" in err.err

    src.unlink()  # a second call must use the cache, not the (gone) source
    again = _resolve(sha, url=src.as_uri(), cache_dir=cache, download=True)
    assert again == got
    assert capsys.readouterr().err == ""


def test_download_wrong_checksum_leaves_nothing(toy, tmp_path):
    src, sha = toy
    cache = tmp_path / "cache"
    wrong = "f" * 64
    with pytest.raises(ChecksumMismatchError) as info:
        _resolve(wrong, url=src.as_uri(), cache_dir=cache, download=True)
    assert wrong in str(info.value) and sha in str(info.value)
    assert os.listdir(cache) == []


def test_download_failure_leaves_nothing(tmp_path):
    cache = tmp_path / "cache"
    url = (tmp_path / "does_not_exist").as_uri()
    with pytest.raises(DatasetMissingError, match="downloading") as info:
        _resolve("a" * 64, url=url, cache_dir=cache, download=True)
    assert os.listdir(cache) == []
    # downloading was allowed and failed: the advice is the network or a mirror
    msg = str(info.value)
    assert "can reach" in msg and "GRADCOMP_DATA_MIRROR" in msg and "data.download=true" not in msg


def test_missing_without_download(toy, tmp_path):
    _, sha = toy
    cache = tmp_path / "cache"
    with pytest.raises(DatasetMissingError) as info:
        _resolve(sha, cache_dir=cache, download=False)
    msg = str(info.value)
    assert _URL in msg and "GRADCOMP_DATA_MIRROR" in msg and "data.download=true" in msg
    assert not cache.exists()


def test_corrupt_cache_is_reported_not_replaced(toy, tmp_path):
    src, sha = toy
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "toy").write_bytes(b"truncated")
    with pytest.raises(ChecksumMismatchError) as info:
        _resolve(sha, url=src.as_uri(), cache_dir=cache, download=True)
    msg = str(info.value)
    assert "Delete" in msg and str(cache / "toy") in msg and sha in msg
    assert (cache / "toy").read_bytes() == b"truncated"


def test_checksum_is_memoized_until_file_changes(toy, tmp_path, monkeypatch):
    path, sha = toy
    calls = []

    def counting(p):
        calls.append(p)
        return sha256_file(p)

    monkeypatch.setattr(fetch_mod, "sha256_file", counting)
    for _ in range(3):
        _resolve(sha, mirror=path.parent, cache_dir=tmp_path / "cache")
    assert len(calls) == 1

    # Same size, new content and mtime: must be re-hashed and rejected.
    data = bytearray(path.read_bytes())
    data[0:1] = b"2"
    path.write_bytes(bytes(data))
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    with pytest.raises(ChecksumMismatchError):
        _resolve(sha, mirror=path.parent, cache_dir=tmp_path / "cache")
    assert len(calls) == 2


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(sha256="abc"), "64 hex"),
        (dict(filename="../toy"), "plain file name"),
        (dict(filename=""), "plain file name"),
    ],
)
def test_resolve_validates_arguments(tmp_path, kw, match):
    args = dict(filename="toy", url=_URL, sha256="a" * 64, mirror=None, download=False)
    args.update(kw)
    with pytest.raises(ValueError, match=match):
        resolve_dataset("toy", cache_dir=tmp_path, **args)


# --------------------------------------------------------------------------- splits


def test_hetero_split_contiguous_stable_remainder_last():
    y = np.array([1, -1, 1, -1, -1, 1, 1])
    parts = hetero_split(y, 3)
    # Stable sort: the -1s at 1, 3, 4 then the +1s at 0, 2, 5, 6; chunk = 7 // 3 = 2.
    expected = [[1, 3], [4, 0], [2, 5, 6]]
    assert [p.tolist() for p in parts] == expected
    assert all(p.dtype == np.int64 for p in parts)


def test_hetero_split_multiclass_stability():
    y = np.array([2, 0, 1, 0, 2, 1, 0, 1, 2, 0])
    parts = hetero_split(y, 4)  # chunk = 2, last client gets 4
    assert [p.tolist() for p in parts] == [[1, 3], [6, 9], [2, 5], [7, 0, 4, 8]]


def test_hetero_split_one_sample_per_client():
    parts = hetero_split(np.array([1.0, -1.0, 1.0]), 3)
    assert [p.tolist() for p in parts] == [[1], [0], [2]]


@pytest.mark.parametrize("n_clients", [0, 6, -1])
def test_split_rejects_bad_client_counts(n_clients):
    with pytest.raises(ValueError):
        hetero_split(np.ones(5), n_clients)
    with pytest.raises(ValueError):
        iid_split(5, n_clients, np.random.default_rng(0))


def test_iid_split_is_a_partition():
    n, m = 103, 10
    parts = iid_split(n, m, np.random.default_rng(42))
    assert [p.size for p in parts] == [10] * 9 + [13]
    assert all(p.dtype == np.int64 for p in parts)
    np.testing.assert_array_equal(np.sort(np.concatenate(parts)), np.arange(n))
    assert not np.array_equal(np.concatenate(parts), np.arange(n))  # actually shuffled
    again = iid_split(n, m, np.random.default_rng(42))
    assert all(np.array_equal(a, b) for a, b in zip(parts, again))


def test_iid_split_requires_generator():
    with pytest.raises(TypeError):
        iid_split(10, 2, 0)


def test_client_label_counts():
    y = np.array([1.0, -1.0, 1.0, -1.0, -1.0])
    counts = client_label_counts(y, [np.array([0, 1]), np.array([3, 4]), np.array([2])])
    assert counts.dtype == np.int64
    np.testing.assert_array_equal(counts, [[1, 1], [2, 0], [0, 1]])
    with pytest.raises(ValueError, match="map_binary_labels"):
        client_label_counts(np.array([0.0, 1.0]), [np.array([0, 1])])


# --------------------------------------------------------------------------- real data


def _real_data_dir() -> Path:
    env = os.environ.get("GRADCOMP_DATA_MIRROR")
    if env:
        return Path(env).expanduser()
    return Path(__file__).resolve().parents[2] / "shared/datasets/libsvm"


def _real_checksums() -> dict[str, str]:
    """{file name: sha256} from the local copy's SHA256SUMS; skip if unavailable."""
    root = _real_data_dir()
    sums = root / "SHA256SUMS"
    if not sums.is_file():
        pytest.skip(f"no local LIBSVM copy with SHA256SUMS at {root} (set GRADCOMP_DATA_MIRROR)")
    out = {}
    for line in sums.read_text().splitlines():
        if line.strip():
            digest, name = line.split()
            out[name.lstrip("*")] = digest
    return out


def test_real_files_match_sha256sums(tmp_path):
    sums = _real_checksums()
    assert {"mushrooms", "w8a", "a9a"} <= set(sums)
    for name, digest in sums.items():
        got = resolve_dataset(
            name,
            filename=name,
            url=f"https://www.csie.ntu.edu.tw/~cjlin/libsvmtools/datasets/binary/{name}",
            sha256=digest,
            mirror=_real_data_dir(),
            cache_dir=tmp_path / "unused",
            download=False,
        )
        assert got == _real_data_dir() / name


def _counts(*blocks):
    rows = []
    for n_clients, neg, pos in blocks:
        rows += [[neg, pos]] * n_clients
    return np.array(rows)


# Published per-client class counts of the M = 20 heterogeneous split (rr paper).
_HETERO_M20 = {
    "mushrooms": (8124, 112, _counts((9, 406, 0), (1, 262, 144), (9, 0, 406), (1, 0, 410))),
    "w8a": (49749, 300, _counts((19, 2487, 0), (1, 1017, 1479))),
    "a9a": (32561, 123, _counts((15, 1628, 0), (1, 300, 1328), (3, 0, 1628), (1, 0, 1629))),
}


@pytest.mark.parametrize("name", sorted(_HETERO_M20))
def test_real_hetero_split_counts(name, tmp_path):
    sums = _real_checksums()
    n_samples, n_features, expected = _HETERO_M20[name]
    path = resolve_dataset(
        name,
        filename=name,
        url=f"https://www.csie.ntu.edu.tw/~cjlin/libsvmtools/datasets/binary/{name}",
        sha256=sums[name],
        mirror=_real_data_dir(),
        cache_dir=tmp_path / "unused",
        download=False,
    )
    X, raw = load_libsvm(path, n_features=n_features)
    assert X.shape == (n_samples, n_features)
    assert load_libsvm(path)[0].shape == (n_samples, n_features)  # max index = d here
    y = map_binary_labels(raw)
    parts = hetero_split(y, 20)
    np.testing.assert_array_equal(client_label_counts(y, parts), expected)
    np.testing.assert_array_equal(np.sort(np.concatenate(parts)), np.arange(n_samples))
