"""harness/replay"""
