"""XDR (RFC 4506) and the RPC language compiler (rpcgen for Python).

Rules: decoding never trusts a length it has not checked against the bytes left and the
declared bound; every failure to decode is an XdrError and nothing else.
"""


class XdrError(ValueError):
    """Bytes that are not a valid XDR encoding of the expected type (or a value that
    cannot be encoded as it): truncation, trailing bytes, a length past its bound, a bad
    enum or discriminant value."""
