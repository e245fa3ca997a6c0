"""The plan's fast composition (gradcomp.assembly) gives exactly Hydra's configs."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from gradcomp import config as gconfig
from gradcomp.config import composer, conf_dir, hydra_compose, to_plain

ROOT_GROUPS = ("dataset", "problem", "compressor", "method", "scale")


def _options():
    for gdir in sorted(p for p in conf_dir().iterdir() if p.is_dir()):
        for y in sorted(gdir.rglob("*.yaml")):
            option = y.relative_to(gdir).with_suffix("").as_posix()
            yield f"{'' if gdir.name in ROOT_GROUPS else '+'}{gdir.name}={option}"


@pytest.mark.parametrize("override", list(_options()))
def test_every_group_option_composes_as_hydra_does(override):
    with composer() as c:
        fast, slow = c([override]), hydra_compose([override])
        assert to_plain(fast) == to_plain(slow) == c.plain([override])
        key = override.lstrip("+").split("=")[0]
        assert OmegaConf.get_type(fast[key]) is OmegaConf.get_type(slow[key])


@pytest.mark.parametrize("overrides", [
    ["method=nastya", "compressor=randk"],                      # the method overrides a group; the CLI wins
    ["compressor=induced", "compressor@compressor.unbiased=qsgd", "compressor.unbiased.s=4"],
    ["dataset=w8a", "method=diana_rr", "stepsize.grid=[0.5,1.0]", "scale=quick", "run.epochs=7"],
    ["problem=ridge", "dataset=make_regression", "method=rand_diana", "method.p=0.2", "+figure=shift/fig2"],
    ["dataset=a9a", "dataset=w8a"],                             # a group given twice: the last wins
])
def test_combined_overrides_compose_as_hydra_does(overrides):
    with composer() as c:
        before = c.plain([])
        assert to_plain(c(overrides)) == to_plain(hydra_compose(overrides)) == c.plain(overrides)
        assert c.plain([]) == before     # the in-place value overrides were undone


@pytest.mark.parametrize("bad", [["method=dianna"], ["+dataset=w8a"], ["compressor.kk=2"], ["+figure=rr/nope"]])
def test_errors_are_hydra_errors(bad):
    from gradcomp.config import ConfigError

    with composer() as c:
        with pytest.raises(ConfigError):
            c(bad)


@pytest.mark.slow
@pytest.mark.parametrize("scale", ["smoke", "paper"])
def test_the_whole_plan_is_hydras(scale, monkeypatch):
    """Every run, problem and artifact of the plan, fast against Hydra composing each."""
    from gradcomp.pipeline.plan import _to_json, build_plan

    fast = _to_json(build_plan([f"scale={scale}"]))
    def hydra_plain(self, ov, keys=None):
        full = to_plain(hydra_compose(ov))
        return full if keys is None else {k: full[k] for k in keys}

    monkeypatch.setattr(gconfig.Composer, "plain", hydra_plain)
    slow = _to_json(build_plan([f"scale={scale}"]))
    assert fast == slow
