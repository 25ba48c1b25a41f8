"""pytest plugin (entry point `nfsprop`): lets an installed copy run the suite with
`pytest --pyargs properties`. It registers the Hypothesis profiles at import time,
before Hypothesis's own plugin reads `--hypothesis-profile`."""

from properties import profiles

profiles.register()
