"""Root conftest: the repository's own pytest setup.

The Hypothesis profiles (dev, ci, thorough) live in properties/harness/profiles.py so that an
installed copy (`pytest --pyargs properties`) gets them through the plugin too.
"""

from properties.harness import profiles

profiles.register()
