"""The one NFS URL form (`nfsprop mount`, `nfsprop check --target`, replay files): what
`nfsprop serve` prints, the short form, "/" as the export, and one-line refusals."""

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


def test_the_nfs_port_comes_from_the_authority_or_nfsport_else_2049() -> None:
    assert parse_nfs_url("nfs://h:2050/x?mountport=635") == NfsUrl("h", "/x", 2050, 635)
    assert parse_nfs_url("nfs://h:2050/x?nfsport=2050") == NfsUrl("h", "/x", 2050, 2050)
    assert parse_nfs_url("nfs://h/x") == NfsUrl("h", "/x", 2049, 2049)


def test_the_root_is_an_export_like_any_other() -> None:
    assert parse_nfs_url("nfs://h/?nfsport=7000") == NfsUrl("h", "/", 7000, 7000)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://127.0.0.1/export?nfsport=1", "nfs://HOST/"),
        ("nfs:///export?nfsport=1", "nfs://HOST/"),
        ("nfs://127.0.0.1?nfsport=1", "no export path"),
        ("nfs://127.0.0.1:7/export?nfsport=8", "port 7 and nfsport=8 disagree"),
        ("nfs://127.0.0.1/export?version=4&nfsport=1", "only version=3"),
        ("nfs://127.0.0.1/export?nfsport=0", "nfsport '0' is not a port"),
        ("nfs://127.0.0.1/export?nfsport=1&mountport=x", "mountport 'x' is not a port"),
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
