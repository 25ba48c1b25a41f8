"""Record marking: any fragmentation and any segmentation give the record back.

Any record, split into any fragments and delivered in any TCP segmentation, reassembles
identically; an oversize record is rejected however it is segmented.
"""

from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from properties.harness.findings import check
from reference.rpc.errors import RecordTooLarge
from reference.rpc.record import RecordReader, frame_fragments


def repeated(pattern: bytes, size: int) -> bytes:
    """`size` bytes of `pattern` over and over: multi-KB records without drawing every byte."""
    return (pattern * (size // len(pattern) + 1))[:size]


records = st.one_of(
    st.binary(max_size=300),
    st.builds(repeated, st.binary(min_size=1, max_size=32), st.integers(1024, 20_000)),
)


@st.composite
def fragment_sizes(draw: st.DrawFn, length: int) -> list[int]:
    """Sizes (zeros allowed) adding up to `length`."""
    cuts = draw(st.lists(st.integers(0, length), max_size=12))
    bounds = [0, *sorted(cuts), length]
    return [stop - start for start, stop in pairwise(bounds)]


@st.composite
def framed(draw: st.DrawFn, record: bytes) -> bytes:
    return frame_fragments(record, draw(fragment_sizes(len(record))))


@st.composite
def segments(draw: st.DrawFn, stream: bytes) -> list[bytes]:
    """`stream` cut at arbitrary points: the pieces TCP might deliver."""
    cuts = draw(st.lists(st.integers(0, len(stream)), max_size=40))
    bounds = [0, *sorted(cuts), len(stream)]
    return [stream[start:stop] for start, stop in pairwise(bounds)]


def feed_all(reader: RecordReader, pieces: list[bytes]) -> list[bytes]:
    received: list[bytes] = []
    for piece in pieces:
        received += reader.feed(piece)
    return received


@check(
    "RECORD-REASSEMBLY",
    "records reassemble across any fragmentation and segmentation",
    "RFC 5531 §11",
)
@given(st.data(), st.lists(records, max_size=8))
def test_records_reassemble_across_any_fragmentation_and_segmentation(
    data: st.DataObject, sent: list[bytes]
) -> None:
    stream = b"".join(data.draw(framed(record)) for record in sent)
    reader = RecordReader()
    assert feed_all(reader, data.draw(segments(stream))) == sent
    assert not reader.in_record


@check("RECORD-OVERSIZE", "an oversize record is rejected under any segmentation", "RFC 5531 §11")
@given(st.data(), st.integers(0, 4096), st.integers(1, 4096), st.lists(records, max_size=3))
def test_oversize_record_is_rejected_under_any_segmentation(
    data: st.DataObject, limit: int, excess: int, before: list[bytes]
) -> None:
    oversize = data.draw(framed(bytes(limit + excess)))
    stream = b"".join(data.draw(framed(record)) for record in before if len(record) <= limit)
    reader = RecordReader(max_record=limit)
    with pytest.raises(RecordTooLarge) as caught:
        feed_all(reader, data.draw(segments(stream + oversize)))
    assert caught.value.limit == limit
    assert limit < caught.value.size <= limit + excess
