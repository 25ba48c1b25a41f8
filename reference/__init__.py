"""The reference ONC RPC / NFS stack."""
