# Monte Carlo studies of the compressors (paper oc's bits-versus-error figure and
# compressor table, paper cq's Table 2): no optimization runs, one job per artifact.
# Their outputs are in ARTIFACTS (common.smk), so `all`, the manifests and the
# verification report pick them up.

CODE_STUDY = sorted(str(p) for d in ("compressors", "theory") for p in (_pkg / d).glob("*.py")) + [
    str(_pkg / "report" / "compressor_studies.py"), str(_pkg / "report" / "style.py"),
    str(_pkg / "report" / "tables.py"), str(_pkg / "report" / "figures.py"), str(_pkg / "seeding.py")]

for _sid, _sp in PLAN.studies.items():

    rule:
        name:
            f"study_{slug(_sid)}"
        input:
            spec=PLAN.spec_path("study", _sid),
            code=CODE_STUDY,
        output:
            **{k: report(v, caption="../report/figure.rst", category="figures") if k == "png" else v
               for k, v in _sp.outputs.items()},
        log:
            f"{RESULTS}/logs/study/{slug(_sid)}.log",
        params:
            job=JOB,
        threads: 1
        shell:
            "{params.job} study {input.spec} > {log} 2>&1"
