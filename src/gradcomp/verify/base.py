"""Claim kinds: each a function ``check(ctx, claim) -> (passed, measured text)``, declared
once with ``@claim_kind(name)``; a claim's ``kind`` names it, and the plan refuses a claim
whose kind does not exist (:func:`check_claims`)."""

from __future__ import annotations

from ..registry import ConfigError, Registry

CLAIM_KINDS = Registry("claim kind", "gradcomp.verify")


def claim_kind(name: str):
    def deco(fn):
        CLAIM_KINDS.register(name, fn)
        return fn

    return deco


def check_claims(claims: dict) -> None:
    """Plan-time checks of a claim set: every kind exists, ids are unique, expectations are pass/fail."""
    seen = set()
    for c in claims["claims"]:
        if c["id"] in seen:
            raise ConfigError(f"claims of {claims['paper']}: the id {c['id']!r} is used twice")
        seen.add(c["id"])
        if c["kind"] not in CLAIM_KINDS:
            raise ConfigError(f"claim {c['id']!r} ({claims['paper']}): unknown claim kind {c['kind']!r}; "
                              f"valid: {', '.join(CLAIM_KINDS.names())}")
        if str(c["expect"]).lower() not in ("pass", "fail"):
            raise ConfigError(f"claim {c['id']!r}: expect must be pass or fail, got {c['expect']!r}")
