# gradcomp: every figure, table and verified claim of the papers, from one command.
#
#   snakemake all -c2                                   # the papers' settings (scale=paper)
#   snakemake all -c2 --config 'overrides=[scale=quick]'  # a preview in minutes
#   snakemake verify -c2                                # check the published claims
#
# Overrides use Hydra's grammar and reach every job (Snakemake rejects dotted --config
# keys, so they travel as one list). The default profile is profiles/default/.

include: "workflow/rules/common.smk"
include: "workflow/rules/problems.smk"
include: "workflow/rules/runs.smk"
include: "workflow/rules/artifacts.smk"
include: "workflow/rules/verify.smk"


rule all:
    default_target: True
    input:
        ARTIFACTS,
        VERIFICATION,
        MANIFESTS,
        f"{RESULTS}/runs/index.tsv",
