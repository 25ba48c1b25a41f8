"""The nfsprop property suite: models, Hypothesis machines and checkers."""
