def _figure_inputs(fid):
    fp = PLAN.figures[fid]
    runs = [rid for p in fp.panels for rid in p["runs"].values()]
    return {"spec": PLAN.spec_path("figure", fid),
            "traces": [f"{RESULTS}/runs/{r}/trace.npz" for r in runs],
            "code": CODE_REPORT}


for _fid, _fp in PLAN.figures.items():

    rule:
        name:
            f"figure_{slug(_fid)}"
        input:
            **_figure_inputs(_fid),
        output:
            **{k: report(v, caption="../report/figure.rst", category="figures") if k == "png" else v
               for k, v in _fp.outputs.items()},
        log:
            f"{RESULTS}/logs/figure/{slug(_fid)}.log",
        params:
            job=JOB,
        localrule: True
        shell:
            "{params.job} figure {input.spec} > {log} 2>&1"
