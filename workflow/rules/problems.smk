rule problem:
    """x*, f* (Newton, ||grad f|| < problem.solver_grad_tol) and the constants of one problem."""
    input:
        config=PLAN.problem_config_path("{pid}"),
        code=code_stamp("problem"),
    output:
        constants=f"{RESULTS}/problems/{{pid}}/constants.json",
        solution=f"{RESULTS}/problems/{{pid}}/solution.npz",
        clients=f"{RESULTS}/problems/{{pid}}/clients.json",
    log:
        f"{RESULTS}/logs/problem/{{pid}}.log",
    params:
        job=JOB,
        data=PLAN.data_path,
    shell:
        "{params.job} problem {input.config} $(dirname {output.constants}) --data {params.data}" + TO_LOG
