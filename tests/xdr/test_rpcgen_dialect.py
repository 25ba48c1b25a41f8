"""The rpcgen habits of .x files in the wild: C pass-through, preprocessor conditionals,
C integer type names, string constants and `typedef struct X X;`."""

from __future__ import annotations

import pytest

from reference.xdr.parser import XdrSpecError
from reference.xdr.preprocess import preprocess
from tests.xdr.test_compiler import load

DIALECT_SPEC = """\
%#include <rpc/rpc.h>
%#define OWNER_DEFAULT ((READ +\\
%         WRITE))
#ifdef RPC_HDR
const ONLY_IN_HEADERS = 1;
#else
const NOT_IN_HEADERS = 2;
#endif
#if defined(NEVER)
struct broken { nonsense
#endif
#define CHOSEN
#ifdef CHOSEN
const CHOSEN_BRANCH = 3;
#endif
const GREETING = "hello";
struct cish {
    char c;
    unsigned short us;
    long l;
    u_int u;
    uint64_t big;
    netobj cookie;
};
typedef struct cish cish;
"""


def test_preprocessing_keeps_line_numbers() -> None:
    text = "#ifdef X\nconst A = 1;\n#endif\n%pass\nconst B = 2;\n"
    assert preprocess(text).text == "\n\n\n\nconst B = 2;\n"


def test_the_dialect_compiles() -> None:
    module = load(DIALECT_SPEC, "dialect")
    assert module.NOT_IN_HEADERS == 2
    assert module.CHOSEN_BRANCH == 3
    assert not hasattr(module, "ONLY_IN_HEADERS")
    assert module.GREETING == b"hello"
    value = module.cish(-1, 65535, -(2**31), 2**32 - 1, 2**64 - 1, b"fh")
    encoded = value.encode()
    # char, short and long are 4 bytes on the wire, as rpcgen's xdr_char/short/long make them.
    assert len(encoded) == 4 * 4 + 8 + 4 + 4
    assert module.cish.decode(encoded) == value


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("#endif\n", "dialect.x:line 1: #endif without #if"),
        ("#if X > 2\n#endif\n", "dialect.x:line 1: cannot evaluate #if X > 2"),
        ("#ifdef A\n", "dialect.x:line 2: 1 #if without #endif"),
    ],
)
def test_unreadable_conditionals_are_clear_errors(text: str, message: str) -> None:
    with pytest.raises(XdrSpecError) as error:
        load(text, "dialect")
    assert str(error.value) == message
