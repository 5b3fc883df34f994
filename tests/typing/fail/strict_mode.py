"""Both checkers check the typing files strictly (mypy --strict, pyright's strict mode): code
without annotations is reported."""


def untyped(value):  # E: Function is missing a type annotation  # E-pyright: Type annotation is missing for parameter "value"
    return 1
