"""Check published numbers and claims (``conf/claim/<paper>.yaml``) against what was built.

Each claim kind is a small function returning ``(passed, measured text)``. A claim's
``expect`` says whether we expect it to reproduce; a known misprint is expected to FAIL
and is reported as such with the measured values. ``check_report`` fails only when an
outcome differs from its expectation.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

from ..pipeline import io
from .base import CLAIM_KINDS, check_claims, claim_kind  # noqa: F401  (check_claims: the plan's)


def _read_csv(path: str) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def printed_unit(printed: str) -> float:
    """One unit of the last printed digit: '2.59' -> 0.01, '7.85e-5' -> 1e-7, '28.5' -> 0.1."""
    mant, _, exp = printed.lower().partition("e")
    decimals = len(mant.split(".")[1]) if "." in mant else 0
    return 10.0 ** ((int(exp) if exp else 0) - decimals)


def _table_row(ctx, claim) -> dict:
    rows = _read_csv(ctx["tables"][claim["artifact"]]["outputs"]["csv"])
    key = claim["params"]["row"]
    for r in rows:
        if r.get("dataset") == key:
            return r
    raise KeyError(f"row {key!r} not in {claim['artifact']}")


@claim_kind("table_value")
def check_table_value(ctx, claim):
    p = claim["params"]
    v = float(_table_row(ctx, claim)[p["column"]])
    target, unit = float(p["printed"]), printed_unit(p["printed"])
    return abs(v - target) <= unit * (1 + 1e-9), f"{v:.6g} (printed {p['printed']}, |diff| {abs(v - target):.2g} vs unit {unit:g})"


@claim_kind("table_exact")
def check_table_exact(ctx, claim):
    p = claim["params"]
    v = _table_row(ctx, claim)[p["column"]]
    return int(float(v)) == int(p["value"]), f"{v} (printed {p['value']})"


@claim_kind("class_counts")
def check_class_counts(ctx, claim):
    rows = {int(r["client"]): (int(r["label_minus_1"]), int(r["label_plus_1"]))
            for r in _read_csv(ctx["tables"][claim["artifact"]]["outputs"]["csv"])}
    bad = []
    for lo, hi, neg, pos in claim["params"]["blocks"]:
        for m in range(lo, hi + 1):
            if rows.get(m) != (neg, pos):
                bad.append(f"client {m}: {rows.get(m)} vs printed {(neg, pos)}")
    total = sum(a for a, _ in rows.values()), sum(b for _, b in rows.values())
    return not bad, (f"all {len(rows)} clients match" if not bad else "; ".join(bad)) + f" (totals -1/+1: {total[0]}/{total[1]})"


def _fig_levels(ctx, claim) -> dict[str, dict[str, float]]:
    rows = _read_csv(ctx["figures"][claim["artifact"]]["outputs"]["selection"])
    out: dict[str, dict[str, float]] = {}
    for r in rows:
        if r["selected"] == "1":
            out.setdefault(r["dataset"], {})[r["method"]] = float(r["best_f_gap"])
    return out


def _fmt_levels(lv: dict[str, float], keys) -> str:
    return ", ".join(f"{k} {lv[k]:.2e}" for k in keys)


def _every_panel(ctx, claim, test) -> tuple[bool, str]:
    """Apply ``test(levels) -> (passed, text)`` to every panel; the claim holds on all."""
    results = [(ds, *test(lv)) for ds, lv in _fig_levels(ctx, claim).items()]
    return (all(ok for _, ok, _ in results),
            "; ".join(f"{ds}: {text}" + ("" if ok else " (no)") for ds, ok, text in results))


@claim_kind("fig_lowest")
def check_fig_lowest(ctx, claim):
    p = claim["params"]

    def test(lv):
        others = min(v for k, v in lv.items() if k != p["method"])
        return (lv[p["method"]] <= float(p["tie_factor"]) * others,
                f"{p['method']} {lv[p['method']]:.2e} vs best other {others:.2e}")
    return _every_panel(ctx, claim, test)


@claim_kind("fig_close")
def check_fig_close(ctx, claim):
    p = claim["params"]

    def test(lv):
        gap = abs(math.log10(lv[p["a"]]) - math.log10(lv[p["b"]]))
        return gap <= float(p["decades"]), f"{_fmt_levels(lv, (p['a'], p['b']))}, {gap:.2f} decades"
    return _every_panel(ctx, claim, test)


@claim_kind("fig_spread")
def check_fig_spread(ctx, claim):
    """A group of methods "close to each other": their levels span at most ``decades``."""
    p = claim["params"]

    def test(lv):
        logs = [math.log10(lv[k]) for k in p["methods"]]
        spread = max(logs) - min(logs)
        return spread <= float(p["decades"]), f"{_fmt_levels(lv, p['methods'])}, spread {spread:.2f} decades"
    return _every_panel(ctx, claim, test)


@claim_kind("fig_above")
def check_fig_above(ctx, claim):
    p = claim["params"]

    def test(lv):
        lo_up, hi_low = min(lv[k] for k in p["upper"]), max(lv[k] for k in p["lower"])
        return (lo_up > hi_low, f"min({'/'.join(p['upper'])}) {lo_up:.2e} vs "
                                f"max({'/'.join(p['lower'])}) {hi_low:.2e}")
    return _every_panel(ctx, claim, test)



#: The artifact maps of a claims document (``pipeline.plan.claims_doc``).
ARTIFACT_KINDS = ("figures", "tables", "studies")


def evaluate(doc: dict) -> list[dict]:
    epochs = int(doc["scale"]["epochs"])
    results = []
    for claim in doc["claims"]["claims"]:
        built = any(claim["artifact"] in doc.get(kind, {}) for kind in ARTIFACT_KINDS)
        if not built:
            # The artifact is not among this configuration's artifacts: nothing to check.
            passed, measured = False, f"not built: {claim['artifact']} is not in {', '.join(ARTIFACT_KINDS)} of artifacts"
        else:
            try:
                passed, measured = CLAIM_KINDS[claim["kind"]](doc, claim)
            except (KeyError, FileNotFoundError, ValueError) as exc:
                passed, measured = False, f"could not evaluate: {exc!r}"
        outcome = ("PASS" if passed else "FAIL") if built else "NOT BUILT"
        scales = claim.get("binding_scales")
        binding = (built and epochs >= int(claim.get("min_epochs", 0))
                   and (scales is None or doc["scale"]["name"] in scales))
        results.append({"paper": doc["claims"]["paper"], "id": claim["id"], "source": claim["source"],
                        "statement": claim["statement"], "measured": measured, "tolerance": claim["tolerance"],
                        "outcome": outcome, "expect": claim["expect"].upper(), "binding": binding,
                        "min_epochs": int(claim.get("min_epochs", 0)),
                        "as_expected": outcome == claim["expect"].upper() or not binding,
                        "note": claim.get("note", "")})
        if scales is not None:
            results[-1]["binding_scales"] = list(scales)
    return results


def _binds_when(r: dict) -> str:
    if r.get("binding_scales") is not None:
        return f"binds at scale {', '.join(r['binding_scales'])}"
    return f"binds from {r['min_epochs']} data passes"


def _md_cell(s: str) -> str:
    return str(s).replace("|", "\\|").replace("\n", " ")


def _result_cell(r: dict, epochs: int) -> str:
    if r["outcome"] == "NOT BUILT":
        return "not built (artifact not in this configuration's artifacts)"
    if not r["binding"]:
        if r.get("binding_scales") is not None:
            return f"{r['outcome']} (indicative: {_binds_when(r)})"
        return f"{r['outcome']} (indicative: {epochs} of the {r['min_epochs']} data passes the claim is about)"
    return r["outcome"] if r["as_expected"] else f"**{r['outcome']} (unexpected)**"


def write_report(docs: list[dict], out: str) -> None:
    # papers in name order: the plan's claim order differs between a fresh and a cached plan
    docs = sorted(docs, key=lambda d: d["claims"]["paper"])
    results = [r for d in docs for r in evaluate(d)]
    scale = docs[0]["scale"] if docs else {}
    epochs = int(scale.get("epochs", 0))
    n_pass = sum(r["outcome"] == "PASS" for r in results)
    n_fail = sum(r["outcome"] == "FAIL" for r in results)
    n_unbuilt = len(results) - n_pass - n_fail
    unexpected = [r for r in results if not r["as_expected"]]
    indicative = [r for r in results if not r["binding"] and r["outcome"] != "NOT BUILT"]
    lines = [
        "# Verification of published results",
        "",
        f"Scale: `{scale.get('name')}` ({epochs} data passes). Generated by `snakemake verify`; "
        "every measured value is read from the artifacts the pipeline built.",
        "",
        f"**{n_pass} PASS, {n_fail} FAIL** of {len(results)} claims"
        + (f" ({n_unbuilt} about artifacts not built in this configuration)" if n_unbuilt else "") + "; "
        f"{len(unexpected)} outcome(s) differ from the expectation recorded in `conf/claim/`"
        + (f"; {len(indicative)} claim(s) are indicative only at this scale." if indicative else "."),
        "",
        "A FAIL marked 'expected' is a known non-reproduction (for example a misprint in the paper), "
        "reported with the measured values rather than tuned away. A claim about the end of a long run "
        "(the plateau of a figure) binds only at a scale that runs as long as the paper; at shorter "
        "scales its outcome is shown but cannot fail the check.",
        "",
        "| claim | source | statement | measured | tolerance | result | expected |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append("| " + " | ".join(_md_cell(x) for x in (
            f"`{r['id']}`", r["source"], r["statement"], r["measured"], r["tolerance"],
            _result_cell(r, epochs), r["expect"])) + " |")
    notes = [r for r in results if r["note"]]
    if notes:
        lines += ["", "## Notes", ""] + [f"- `{r['id']}`: {r['note']}" for r in notes]
    retired = [(d["claims"]["paper"], c) for d in docs for c in d["claims"].get("retired") or []]
    if retired:
        lines += ["", "## Retired claims", ""] + [f"- `{c['id']}` ({paper}): {c['why']}" for paper, c in retired]
    io.write_text(out, "\n".join(lines) + "\n")
    io.write_text(str(Path(out).with_suffix(".json")), json.dumps(results, indent=1, sort_keys=True) + "\n")


def check_report(report: str) -> int:
    """0 if every outcome matches its expectation, 1 otherwise (with the list printed)."""
    results = json.loads(Path(report).with_suffix(".json").read_text())
    bad = [r for r in results if not r["as_expected"]]
    for r in bad:
        print(f"UNEXPECTED {r['outcome']}: {r['id']}: {r['statement']} -- measured {r['measured']}")
    for r in results:
        if r["outcome"] == "NOT BUILT":
            print(f"not built: {r['id']} ({r['measured']})")
        elif not r.get("binding", True):
            print(f"indicative {r['outcome']}: {r['id']} ({_binds_when(r)})")
    print(f"{sum(r['outcome'] == 'PASS' for r in results)} passed, "
          f"{sum(r['outcome'] == 'FAIL' for r in results)} failed "
          f"({len(bad)} unexpected) -- see {report}")
    return 1 if bad else 0


def recheck(docs: list[dict], committed: str) -> list[str]:
    """Claims whose re-evaluation on the committed artifacts differs from ``committed`` (a
    VERIFICATION.json) or from their expectation; empty when the published report stands."""
    fresh = {r["id"]: r for d in docs for r in evaluate(d)}
    old = {r["id"]: r for r in json.loads(Path(committed).read_text())}
    problems = [f"{i}: in {committed} but not in conf/claim/" for i in sorted(set(old) - set(fresh))]
    problems += [f"{i}: in conf/claim/ but not in {committed}" for i in sorted(set(fresh) - set(old))]
    for i in sorted(set(fresh) & set(old)):
        if fresh[i] != old[i]:
            problems.append(f"{i}: re-evaluated {fresh[i]['outcome']} ({fresh[i]['measured']}) "
                            f"differs from the committed report")
        elif not fresh[i]["as_expected"]:
            problems.append(f"{i}: {fresh[i]['outcome']}, expected {fresh[i]['expect']}")
    return problems
