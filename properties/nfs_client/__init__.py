"""nfs_client"""
