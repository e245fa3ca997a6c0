rule run:
    """One method on one problem over its stepsize grid (replicas), one trace; or one shard
    of a run split by ``jobs.max_replicas``."""
    input:
        config=PLAN.run_config_path("{rid}"),
        problem=lambda wc: f"{RESULTS}/problems/{PLAN.run_problem[wc.rid]}/constants.json",
        code=code_stamp("run"),
    output:
        trace=f"{RESULTS}/runs/{{rid}}/trace.npz",
        info=f"{RESULTS}/runs/{{rid}}/info.json",
        provenance=f"{RESULTS}/runs/{{rid}}/provenance.json",
    log:
        f"{RESULTS}/logs/run/{{rid}}.log",
    params:
        job=JOB,
        data=PLAN.data_path,
    threads: 1
    resources:
        runtime=120,
    shell:
        "{params.job} run {input.config} $(dirname {output.trace}) --data {params.data}" + TO_LOG


# A run split into shards (jobs.max_replicas) is not run itself: its trace is merged from
# the shards' traces (the unsplit run's iterates, f to rounding; gradcomp.pipeline.shards).
ruleorder: merge_run > run


rule merge_run:
    """The trace of a split run, from its shards' traces."""
    input:
        spec=PLAN.shards_path("{rid}"),
        shards=lambda wc: [f"{RESULTS}/runs/{s}/trace.npz" for s in PLAN.shards[wc.rid]["runs"]],
        code=code_stamp("merge"),
    output:
        trace=f"{RESULTS}/runs/{{rid}}/trace.npz",
        info=f"{RESULTS}/runs/{{rid}}/info.json",
        provenance=f"{RESULTS}/runs/{{rid}}/provenance.json",
    log:
        f"{RESULTS}/logs/merge/{{rid}}.log",
    wildcard_constraints:
        rid=SPLIT_RUNS,
    params:
        job=JOB,
    localrule: True
    shell:
        "{params.job} merge {input.spec} $(dirname {output.trace})" + TO_LOG


rule run_index:
    """results/runs/index.tsv: every run of the plan, its problem, dataset, method, compressor,
    replicas and epochs."""
    input:
        PLAN.index_path,
    output:
        f"{RESULTS}/runs/index.tsv",
    log:
        f"{RESULTS}/logs/run_index.log",  # empty: a file copy; declared so that every rule has one
    localrule: True
    run:
        import shutil

        shutil.copyfile(input[0], output[0])
