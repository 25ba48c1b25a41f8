"""Record marking (RFC 5531 section 11): framing, reassembly, and the size limit."""

import pytest

from reference.rpc.errors import RecordTooLarge
from reference.rpc.record import RecordReader, frame, frame_fragments


def feed_bytewise(reader: RecordReader, stream: bytes) -> list[bytes]:
    records: list[bytes] = []
    for index in range(len(stream)):
        records += reader.feed(stream[index : index + 1])
    return records


def test_frame_single_fragment_sets_last_bit_and_length() -> None:
    assert frame(b"abc") == b"\x80\x00\x00\x03abc"


def test_empty_record_is_one_empty_last_fragment() -> None:
    assert frame(b"") == b"\x80\x00\x00\x00"
    assert frame(b"", fragment_size=4) == b"\x80\x00\x00\x00"
    assert frame_fragments(b"", [0]) == b"\x80\x00\x00\x00"


def test_frame_splits_into_fragments_of_at_most_fragment_size() -> None:
    assert frame(b"abcdefg", fragment_size=3) == (
        b"\x00\x00\x00\x03abc" + b"\x00\x00\x00\x03def" + b"\x80\x00\x00\x01g"
    )


def test_frame_exact_multiple_has_no_trailing_empty_fragment() -> None:
    assert frame(b"abcdef", fragment_size=3) == b"\x00\x00\x00\x03abc\x80\x00\x00\x03def"


def test_frame_fragments_splits_at_given_sizes_including_empty_ones() -> None:
    assert frame_fragments(b"abcd", [1, 0, 3]) == (
        b"\x00\x00\x00\x01a" + b"\x00\x00\x00\x00" + b"\x80\x00\x00\x03bcd"
    )


@pytest.mark.parametrize("sizes", [[], [1, 1], [5], [-1, 4]])
def test_frame_fragments_rejects_sizes_that_do_not_cover_the_record(sizes: list[int]) -> None:
    with pytest.raises(ValueError):
        frame_fragments(b"abc", sizes)


@pytest.mark.parametrize("fragment_size", [0, -3, 1 << 31])
def test_frame_rejects_impossible_fragment_sizes(fragment_size: int) -> None:
    with pytest.raises(ValueError, match="fragment_size"):
        frame(b"abc", fragment_size)


def test_reader_returns_every_record_of_one_feed_in_order() -> None:
    stream = frame(b"one") + frame(b"") + frame(b"three", fragment_size=2)
    assert RecordReader().feed(stream) == [b"one", b"", b"three"]


def test_reader_reassembles_many_fragments() -> None:
    record = bytes(range(256)) * 40
    reader = RecordReader()
    assert reader.feed(frame(record, fragment_size=7)) == [record]
    assert not reader.in_record


def test_reader_handles_one_byte_feeds() -> None:
    records = [b"first", b"", b"x" * 1000, b"last"]
    stream = b"".join(frame(record, fragment_size=3) for record in records)
    assert feed_bytewise(RecordReader(), stream) == records


def test_reader_keeps_partial_record_until_its_last_fragment() -> None:
    reader = RecordReader()
    assert reader.feed(b"\x00\x00\x00\x02ab\x80\x00") == []
    assert reader.in_record
    assert reader.feed(b"\x00\x01c\x80\x00\x00\x01") == [b"abc"]
    assert reader.in_record
    assert reader.feed(b"d") == [b"d"]
    assert not reader.in_record


def test_reader_treats_empty_non_last_fragments_as_part_of_the_record() -> None:
    reader = RecordReader()
    assert reader.feed(b"\x00\x00\x00\x00") == []
    assert reader.in_record
    assert reader.feed(b"\x00\x00\x00\x00\x80\x00\x00\x00") == [b""]


def test_reader_accepts_a_record_of_exactly_max_record_bytes() -> None:
    reader = RecordReader(max_record=10)
    assert reader.feed(frame(b"0123456789", fragment_size=4)) == [b"0123456789"]


def test_oversize_fragment_header_is_rejected_before_its_body_arrives() -> None:
    reader = RecordReader(max_record=100)
    with pytest.raises(RecordTooLarge) as caught:
        reader.feed(b"\x80\x00\x00\x65")  # announces 101 bytes, sends none
    assert (caught.value.size, caught.value.limit) == (101, 100)
    assert "101" in str(caught.value) and "100-byte limit" in str(caught.value)


def test_huge_fragment_header_is_rejected_with_the_default_limit() -> None:
    with pytest.raises(RecordTooLarge):
        RecordReader().feed(b"\x7f\xff\xff\xff")


def test_record_growing_over_the_limit_across_fragments_is_rejected() -> None:
    reader = RecordReader(max_record=10)
    assert reader.feed(b"\x00\x00\x00\x06abcdef") == []
    with pytest.raises(RecordTooLarge) as caught:
        reader.feed(b"\x00\x00\x00\x05")
    assert caught.value.size == 11


def test_reader_stays_failed_after_an_oversize_record() -> None:
    reader = RecordReader(max_record=4)
    with pytest.raises(RecordTooLarge):
        reader.feed(frame(b"12345"))
    with pytest.raises(RecordTooLarge):
        reader.feed(frame(b"ok"))


def test_reader_copies_data_it_keeps_so_callers_may_reuse_their_buffer() -> None:
    reader = RecordReader()
    buffer = bytearray(b"\x00\x00\x00\x03abc\x80\x00\x00\x02")
    assert reader.feed(buffer) == []
    buffer[:] = b"XXXXXXXXXXXXXXXXXXXXX"
    assert reader.feed(b"de") == [b"abcde"]


def test_negative_max_record_is_rejected() -> None:
    with pytest.raises(ValueError, match="max_record"):
        RecordReader(max_record=-1)
