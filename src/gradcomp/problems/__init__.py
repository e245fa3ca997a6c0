"""Problems: logistic regression (rr), ridge regression (shift), ... (:mod:`.base` for the protocol).

``PROBLEMS[name]`` is the class a ``problem.name`` selects; every problem module declares
itself with ``@PROBLEMS.register(name)``.
"""

from .base import PROBLEMS, Constants, ProblemBase

__all__ = ["PROBLEMS", "Constants", "ProblemBase"]
