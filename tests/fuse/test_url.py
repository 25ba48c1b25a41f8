"""The libnfs-style URL `nfsprop mount` accepts, and its one-line refusals."""

from __future__ import annotations

import pytest

from reference.fuse.url import EXPECTED_FORM, BadNfsUrl, NfsUrl, parse_nfs_url


def test_the_url_nfsprop_serve_prints_is_accepted() -> None:
    url = "nfs://127.0.0.1/export?version=3&nfsport=2049&mountport=20048"
    assert parse_nfs_url(url) == NfsUrl("127.0.0.1", "/export", 2049, 20048)


def test_mountport_defaults_to_nfsport() -> None:
    assert parse_nfs_url("nfs://localhost/a/b/?nfsport=7000") == NfsUrl(
        "localhost", "/a/b", 7000, 7000
    )


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://127.0.0.1/export?nfsport=1", "nfs://HOST/"),
        ("nfs:///export?nfsport=1", "nfs://HOST/"),
        ("nfs://127.0.0.1/?nfsport=1", "no export path"),
        ("nfs://127.0.0.1/export", "nfsport=N is missing"),
        ("nfs://127.0.0.1/export?version=4&nfsport=1", "only version=3"),
        ("nfs://127.0.0.1/export?nfsport=0", "nfsport must be a port number"),
        ("nfs://127.0.0.1/export?nfsport=1&mountport=x", "mountport must be a port number"),
        ("nfs://127.0.0.1/export?nfsport=1&uid=0", "unknown query key 'uid'"),
        ("nfs://127.0.0.1/export?nfsport=1&nfsport=2", "given twice"),
        ("nfs://127.0.0.1/export?nfsport", "not key=value"),
    ],
)
def test_bad_urls_name_the_problem_and_the_expected_form(url: str, why: str) -> None:
    with pytest.raises(BadNfsUrl) as refused:
        parse_nfs_url(url)
    message = str(refused.value)
    assert why in message
    assert message.endswith(EXPECTED_FORM)
    assert "\n" not in message
