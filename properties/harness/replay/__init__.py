"""Replay files: a failing example saved as data, and `nfsprop replay` running it again.
The modules, one job each:

- file.py: the replay file: its JSON, where it is saved, loading and checking it.
- family.py: a property family as replays know it (Family), and the one way to save a
  failure (Family.saving_failures with the run's Evidence).
- run.py: `nfsprop replay FILE`: the family's replay, and the helpers families share.

The families themselves are registered in properties/families.py.
"""
