for _tid, _tp in PLAN.tables.items():

    rule:
        name:
            f"table_{slug(_tid)}"
        input:
            spec=PLAN.spec_path("table", _tid),
            problems=[f"{RESULTS}/problems/{pid}/constants.json" for _, pid in _tp.problems],
            traces=[f"{RESULTS}/runs/{rid}/trace.npz" for _runs in _tp.runs.values() for rid in _runs.values()],
            code=CODE_REPORT,
        output:
            **_tp.outputs,
        log:
            f"{RESULTS}/logs/table/{slug(_tid)}.log",
        params:
            job=JOB,
        localrule: True
        shell:
            "{params.job} table {input.spec} > {log} 2>&1"
