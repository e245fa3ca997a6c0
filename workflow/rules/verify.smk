rule verification_report:
    """figures/VERIFICATION.md: every claim of conf/claim/ checked against the artifacts."""
    input:
        specs=[PLAN.spec_path("claims", p) for p in PLAN.claims],
        artifacts=ARTIFACTS,
    output:
        md=VERIFICATION,
        json=VERIFICATION.replace(".md", ".json"),
    localrule: True
    shell:
        "{JOB} verify {input.specs} --out {output.md}"


rule verify:
    """Fails when a claim's outcome differs from the expectation recorded in conf/claim/."""
    input:
        VERIFICATION,
    localrule: True
    shell:
        "{JOB} check {input}"


for _paper in PLAN.papers():

    rule:
        name:
            f"manifest_{_paper}"
        input:
            [a for a in ARTIFACTS if a.startswith(f"{FIGROOT}/{_paper}/")],
        output:
            f"{FIGROOT}/{_paper}/MANIFEST",
        params:
            paper=_paper,
        localrule: True
        shell:
            "{JOB} manifest {FIGROOT} {input} --out {output}"
