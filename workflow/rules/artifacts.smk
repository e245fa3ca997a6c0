# One job per figure, table and compressor study (gradcomp.kinds): it reads the spec the plan
# wrote, the traces of the runs and the constants of the problems its kind planned, and
# writes the artifact's outputs. Rule names: figure_<id>, table_<id>, study_<id>.

for _section, _prefix, _aid, _ap in PLAN.artifacts():

    rule:
        name:
            f"{_prefix}_{slug(_aid)}"
        input:
            spec=PLAN.spec_path(_prefix, _aid),
            traces=[f"{RESULTS}/runs/{rid}/trace.npz" for rid in _ap.runs],
            problems=[f"{RESULTS}/problems/{pid}/constants.json" for pid in _ap.problems],
            code=code_stamp("artifact"),
        output:
            **{k: report(v, caption="../report/figure.rst", category="figures") if k == "png" else v
               for k, v in _ap.outputs.items()},
        log:
            f"{RESULTS}/logs/{_prefix}/{slug(_aid)}.log",
        params:
            job=JOB,
        threads: 1
        localrule: SECTIONS[_section][1][_ap.kind].local
        shell:
            "{params.job} " + _prefix + " {input.spec}" + TO_LOG
