"""The model's file content: sparse zeros, truncation, and what a crash may take back."""

from hypothesis import given
from hypothesis import strategies as st

from properties.nfs3.model import Content


def test_a_write_past_the_end_leaves_zeros() -> None:
    content = Content()
    content.write(4, b"ab", durable=True)
    assert content.read(0, 100) == b"\0\0\0\0ab"
    assert content.size == 6


def test_resize_cuts_and_extends_with_zeros() -> None:
    content = Content()
    content.write(0, b"abcdef", durable=True)
    content.resize(2)
    content.resize(4)
    assert content.read(0, 10) == b"ab\0\0"


def test_after_a_crash_a_durable_write_must_still_be_there() -> None:
    content = Content()
    content.write(0, b"abc", durable=True)
    assert content.admits(b"abc") is None
    assert content.admits(b"") is not None
    assert content.admits(b"abd") is not None


def test_an_unstable_write_may_vanish_or_survive() -> None:
    content = Content()
    content.write(0, b"abc", durable=True)
    content.write(1, b"XY", durable=False)
    content.write(3, b"Z", durable=False)
    for survivor in (b"abc", b"aXYZ", b"abcZ", b"aXY"):
        assert content.admits(survivor) is None, survivor
    assert content.admits(b"aXQ") is not None
    assert content.admits(b"abcZZ") is not None


def test_a_later_stable_write_makes_its_range_certain() -> None:
    content = Content()
    content.write(0, b"xxxx", durable=False)
    content.write(1, b"SS", durable=True)
    assert content.admits(b"\0SS") is None  # the first write lost; holes read as zeros
    assert content.admits(b"xSSx") is None
    assert content.admits(b"xxxx") is not None


def test_commit_makes_everything_durable() -> None:
    content = Content()
    content.write(0, b"abc", durable=False)
    assert content.unstable
    content.commit()
    assert not content.unstable
    assert content.admits(b"abc") is None
    assert content.admits(b"") is not None


def test_a_size_change_is_durable_and_cuts_unstable_data() -> None:
    content = Content()
    content.write(0, b"abcdef", durable=False)
    content.resize(3)
    assert content.possible_sizes() == {3}
    assert content.admits(b"abc") is None
    assert content.admits(b"\0\0\0") is None
    assert content.admits(b"abcdef") is not None


writes = st.lists(
    st.tuples(st.integers(0, 40), st.binary(min_size=1, max_size=8), st.booleans()), max_size=8
)


@given(writes)
def test_the_current_data_is_always_a_possible_crash_outcome(
    operations: list[tuple[int, bytes, bool]],
) -> None:
    content = Content()
    for offset, data, durable in operations:
        content.write(offset, data, durable)
    assert content.admits(bytes(content.data)) is None


@given(writes)
def test_dropping_every_unstable_write_is_a_possible_crash_outcome(
    operations: list[tuple[int, bytes, bool]],
) -> None:
    content = Content()
    stable_only = Content()
    for offset, data, durable in operations:
        content.write(offset, data, durable)
        if durable:
            stable_only.write(offset, data, durable)
    assert content.admits(bytes(stable_only.data)) is None
