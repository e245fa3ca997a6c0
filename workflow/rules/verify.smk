rule verification_report:
    """figures/VERIFICATION.md: every claim of conf/claim/ checked against the artifacts."""
    input:
        specs=[PLAN.spec_path("claims", p) for p in PLAN.claims],
        artifacts=ARTIFACTS,
    output:
        md=VERIFICATION,
        json=VERIFICATION.replace(".md", ".json"),
    log:
        f"{RESULTS}/logs/verify.log",
    params:
        job=JOB,
    localrule: True
    shell:
        "{params.job} verify {input.specs} --out {output.md}" + TO_LOG


rule verify:
    """Fails when a claim's outcome differs from the expectation recorded in conf/claim/."""
    input:
        VERIFICATION,
    log:
        f"{RESULTS}/logs/verify_check.log",
    params:
        job=JOB,
    localrule: True
    shell:
        # the outcome is the point of this rule: on the console and in the log
        "{params.job} check {input} 2>&1 | tee {log}"


for _paper in PLAN.papers():

    rule:
        name:
            f"manifest_{_paper}"
        input:
            [a for a in ARTIFACTS if a.startswith(f"{FIGROOT}/{_paper}/")],
        output:
            f"{FIGROOT}/{_paper}/MANIFEST",
        log:
            f"{RESULTS}/logs/manifest_{_paper}.log",
        params:
            job=JOB,
        localrule: True
        shell:
            "{params.job} manifest {input} --out {output}" + TO_LOG
