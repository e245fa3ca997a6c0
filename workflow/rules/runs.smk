rule run:
    """One method on one problem over its stepsize grid (replicas), one trace."""
    input:
        config=f"{RESULTS}/runs/{{rid}}/config.json",
        problem=lambda wc: f"{RESULTS}/problems/{PLAN.run_problem[wc.rid]}/constants.json",
        code=CODE_RUN,
    output:
        trace=f"{RESULTS}/runs/{{rid}}/trace.npz",
        info=f"{RESULTS}/runs/{{rid}}/info.json",
        provenance=f"{RESULTS}/runs/{{rid}}/provenance.json",
    log:
        f"{RESULTS}/logs/run/{{rid}}.log",
    params:
        job=JOB,
    threads: 1
    resources:
        runtime=120,
    group:
        "runs"
    shell:
        "{params.job} run $(dirname {input.config}) > {log} 2>&1"
