"""Recorded steps: the JSON of the values a step holds goes both ways, and refuses what it
cannot bring back."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from properties.harness.steps import Codec, RecordedStep, StepFormatError
from reference.xdr.gen.nfs3 import stable_how


@dataclass(frozen=True)
class Pause:
    seconds: float
    names: tuple[bytes, ...] = ()


CODEC = Codec((stable_how, Pause))


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        7,
        -0.1,
        "a",
        b"\x00\xff",
        (1, (b"a", False)),
        [3, [4.5, None]],
        stable_how.FILE_SYNC,
        Pause(11.0, (b"a", b"")),
        [Pause(0.5), (stable_how.UNSTABLE, 2)],
    ],
)
def test_a_value_comes_back_equal_and_of_the_same_type(value: object) -> None:
    back = CODEC.decode(CODEC.encode(value))
    assert back == value
    assert type(back) is type(value)


def test_a_bool_and_an_enum_member_are_not_plain_ints() -> None:
    assert CODEC.encode(True) is True
    assert CODEC.encode(stable_how.DATA_SYNC) == {"enum": ["stable_how", "DATA_SYNC"]}


def test_a_class_the_codec_does_not_name_is_refused_while_recording() -> None:
    with pytest.raises(TypeError, match="add it to the machine's codec"):
        Codec().encode(Pause(1.0))
    with pytest.raises(TypeError, match="cannot record a set"):
        CODEC.encode({1, 2})


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ({"bytes": "zz"}, "bad recorded bytes"),
        ({"enum": ["stable_how", "SOMETIMES"]}, "bad recorded enum"),
        ({"dataclass": ["Unknown", {}]}, "unknown recorded class 'Unknown'"),
        ({"dataclass": ["Pause", {"minutes": 1}]}, "bad recorded dataclass"),
        ({"set": [1]}, "unknown recorded value tag 'set'"),
        ({"bytes": "00", "tuple": []}, "not a recorded value"),
    ],
)
def test_a_value_that_does_not_decode_is_a_step_format_error(value: object, problem: str) -> None:
    with pytest.raises(StepFormatError, match=problem):
        CODEC.decode(value)


def test_a_step_is_function_args_and_draws() -> None:
    step = RecordedStep("write", {"data": {"data": None}, "offset": 3}, [0, {"bytes": "61"}])
    assert RecordedStep.from_json(step.to_json()) == step
    with pytest.raises(StepFormatError, match=re.escape("not {function, args, draws}")):
        RecordedStep.from_json({"function": "write", "args": {}})
