"""The ONC RPC runtime (RFC 5531): sans-I/O engines plus thin asyncio transports."""
