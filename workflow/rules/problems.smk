rule problem:
    """x*, f* (Newton, ||grad f|| < problem.solver_grad_tol) and the constants of one problem."""
    input:
        config=f"{RESULTS}/problems/{{pid}}/config.json",
        code=CODE_PROBLEM,
    output:
        constants=f"{RESULTS}/problems/{{pid}}/constants.json",
        solution=f"{RESULTS}/problems/{{pid}}/solution.npz",
        clients=f"{RESULTS}/problems/{{pid}}/clients.json",
    log:
        f"{RESULTS}/logs/problem/{{pid}}.log",
    params:
        job=JOB,
    shell:
        "{params.job} problem $(dirname {input.config}) > {log} 2>&1"
