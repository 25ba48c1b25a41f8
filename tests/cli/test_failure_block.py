"""The failure block (properties/harness/failure.py) and the field diff of two replies
(properties/harness/diff.py), from findings as reports carry them."""

from __future__ import annotations

from dataclasses import dataclass

from properties.harness.diff import MAX_LINES, field_diff
from properties.harness.failure import failure_blocks
from properties.harness.findings import STEP_COLUMNS
from reference.xdr.gen.nfs3 import nfsstat3

CHECK = {"code": "MODEL", "title": "every reply is one the model allows", "world": "target"}
FINDING = {
    "code": "AT-MOST-ONCE",
    "verdict": "fail",
    "title": "a retransmission gets the first reply",
    "rfc": "RFC 5531 §8",
    "claim": "target_drc",
    "message": "MKDIR sent again got another reply; first reply | copy 2:\n  reply.status: A | B",
    "counterexample": [
        "MKDIR b'a' in #0",
        STEP_COLUMNS.join(["CREATE b'b' in #1", "NFS3_OK, NFS3ERR_EXIST", "NFS3ERR_IO"]),
    ],
    "replay": ".nfsprop/failures/x.json",
}


def test_the_block_names_rule_source_steps_and_how_to_reproduce() -> None:
    lines = failure_blocks(
        CHECK,
        [FINDING, {**FINDING, "verdict": "warn"}],  # only FAIL findings get a block
        {"target_drc": "--target-drc yes"},
        "nfsprop check -k test_x",
    )
    assert lines == [
        "FAIL MODEL in target: every reply is one the model allows",
        "  rule:     AT-MOST-ONCE: a retransmission gets the first reply",
        "  source:   RFC 5531 §8; and your word: --target-drc yes",
        "  what:     MKDIR sent again got another reply; first reply | copy 2:",
        "            reply.status: A | B",
        "  steps (shrunk to 2):",
        "    #  call               allowed                 came back",
        "    1  MKDIR b'a' in #0                           ",
        "    2  CREATE b'b' in #1  NFS3_OK, NFS3ERR_EXIST  NFS3ERR_IO",
        "  reproduce:",
        "    nfsprop replay .nfsprop/failures/x.json",
        "    nfsprop check -k test_x",
    ]


def test_a_rule_resting_on_no_claim_names_only_its_rfc() -> None:
    lines = failure_blocks(CHECK, [{**FINDING, "claim": None}], {"target_drc": "x"}, None)
    assert "  source:   RFC 5531 §8" in lines
    assert lines[-1] == "    nfsprop replay .nfsprop/failures/x.json"


@dataclass(frozen=True)
class Inner:
    handle: bytes
    size: int


@dataclass(frozen=True)
class Reply:
    status: nfsstat3
    inner: Inner | None
    names: list[bytes]


def test_two_replies_differ_field_by_field() -> None:
    first = Reply(nfsstat3.NFS3_OK, Inner(b"\x01" * 40, 5), [b"a", b"b"])
    second = Reply(nfsstat3.NFS3ERR_EXIST, Inner(b"\x01" * 40, 6), [b"a"])
    assert field_diff(first, second) == [
        "reply.status: NFS3_OK | NFS3ERR_EXIST",
        "reply.inner.size: 5 | 6",
        "reply.names: 2 items | 1 items",
    ]
    assert field_diff(first, Reply(nfsstat3.NFS3_OK, None, [b"a", b"b"])) == [
        "reply.inner: Inner(...) | None"
    ]
    assert field_diff(first, first) == []


def test_a_long_diff_is_cut() -> None:
    many = field_diff(list(range(40)), [n + 1 for n in range(40)])
    assert len(many) == MAX_LINES + 1 and many[-1] == "... and 28 more fields"
