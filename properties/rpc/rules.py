"""The rules a server's RPC layer may break under bad input, each with its stable code and
RFC section (properties/harness/findings.py): staying alive, replying only to calls, and
the refusal RFC 5531 gives for each call that cannot be carried out.

Rules:
- One verdict policy for every refusal rule: a call that cannot be carried out (its
  arguments or credential do not decode, its RPC version, program, version or procedure
  is not served) answered as carried out (MSG_ACCEPTED SUCCESS; for a bad credential,
  any MSG_ACCEPTED) is a FAIL; the status RFC 5531 names for the case passes; another
  refusal, no reply, or a connection closed instead of a reply is a WARN (RFC 5531 has
  no "MUST reply"; they are allowed, but tell the client nothing, or the wrong thing).
- Sections are RFC 5531's unless a rule says otherwise.
"""

from __future__ import annotations

from properties.harness.findings import define

# -- the server survives --
DEAD = define(
    "RPC-DEAD-AFTER-GARBAGE",
    "after any bad input, the server still answers NULL on each of its ports",
    "RFC 5531 §12.1 (procedure 0), RFC 1813 §3.3.0",
)
DEAD_AFTER_RESET = define(
    "RPC-DEAD-AFTER-RESET",
    "after a client resets its connection, the server still answers NULL",
    "RFC 5531 §11, RFC 1813 §3.3.0",
)

# -- what the server sends --
REPLY_TO_NONCALL = define(
    "RPC-REPLY-TO-NONCALL",
    "a reply answers a call: none to what is not a call, none with an XID no call carried",
    "RFC 5531 §8 (matching replies to calls), §9",
)
REPLY_MALFORMED = define(
    "RPC-REPLY-MALFORMED", "every message the server sends is a well-formed reply", "RFC 5531 §9"
)
STALL = define(
    "RPC-STREAM-STALL",
    "a connection the client has finished with is answered or closed, not left hanging",
    "RFC 5531 §11",
)

# -- refusals (see the verdict policy above) --
GARBAGE_ARGS = define(
    "RPC-GARBAGE-ARGS",
    "arguments that do not decode get GARBAGE_ARGS, never SUCCESS",
    "RFC 5531 §8.1, §9 (accept_stat)",
)
BADCRED = define(
    "RPC-BADCRED",
    "a credential that does not decode, or of an unknown flavor, gets AUTH_BADCRED",
    "RFC 5531 §8.2, §9 (auth_stat), appendix A",
)
CUT_HEADER = define(
    "RPC-CUT-HEADER",
    "a call cut short inside its header is never executed",
    "RFC 5531 §9",
)
RPC_MISMATCH = define(
    "RPC-MISMATCH",
    "a call of an RPC version other than 2 gets RPC_MISMATCH (a range holding 2)",
    "RFC 5531 §8.1, §9",
)
PROG_UNAVAIL = define(
    "RPC-PROG-UNAVAIL", "a call to a program not served gets PROG_UNAVAIL", "RFC 5531 §8.1, §9"
)
PROG_MISMATCH = define(
    "RPC-PROG-MISMATCH",
    "a call to a version not served gets PROG_MISMATCH (a range without it)",
    "RFC 5531 §8.1, §9",
)
PROC_UNAVAIL = define(
    "RPC-PROC-UNAVAIL",
    "a call to a procedure the program lacks gets PROC_UNAVAIL",
    "RFC 5531 §8.1, §9",
)

# -- record marking --
FRAGMENTS = define(
    "RPC-RECORD-FRAGMENTS",
    "a call in any number of fragments (empty ones too), cut anywhere, is answered",
    "RFC 5531 §11",
)
