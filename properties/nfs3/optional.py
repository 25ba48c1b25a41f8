"""The optional parts of NFSv3 as rules: a feature the probe (properties/worlds/probe.py)
finds missing is an UNSUPPORTED finding of its rule, reported once per world with the
RFC's words, never a failure.

Rules: one rule per entry of the probe's FEATURES registry, coded OPTIONAL-<NAME>.
"""

from __future__ import annotations

from properties.harness import findings
from properties.harness.findings import Rule
from properties.worlds.probe import FEATURES, Features

OPTIONAL: dict[str, Rule] = {
    feature.name: findings.define(
        "OPTIONAL-" + feature.name.upper().replace("_", "-"),
        f"{feature.title} (optional)",
        f"{feature.rfc}: {feature.words}",
    )
    for feature in FEATURES
}


def report_unsupported(features: Features) -> None:
    """Record an UNSUPPORTED finding for each optional feature `features` leaves out."""
    answers = dict(features.answers)
    for name, rule in OPTIONAL.items():
        if not getattr(features, name):
            why = answers.get(name, "not offered")
            findings.current().unsupported(rule, f"{rule.title.removesuffix(' (optional)')}: {why}")


def capabilities(features: Features) -> dict[str, bool | None]:
    """The features as results.json's capabilities: name -> yes, no, or unknown (None)."""
    shown: dict[str, bool | None] = {
        feature.name: getattr(features, feature.name) for feature in FEATURES
    }
    shown["mount_port_shared"] = features.mount_port_shared
    return shown
