for _tid, _tp in PLAN.tables.items():

    rule:
        name:
            f"table_{_tid.replace('/', '_')}"
        input:
            spec=PLAN.spec_path("table", _tid),
            problems=[f"{RESULTS}/problems/{pid}/constants.json" for _, pid in _tp.problems],
            code=CODE_REPORT,
        output:
            **_tp.outputs,
        params:
            spec=PLAN.spec_path("table", _tid),
        localrule: True
        shell:
            "{JOB} table {params.spec}"
