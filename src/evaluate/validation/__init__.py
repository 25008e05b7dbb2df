"""Known-truth worlds: run the whole pipeline where the answer is known, and check it.

``evaluate validate`` (:func:`evaluate.validation.validate`) generates synthetic worlds
(:mod:`.worlds`), runs every stage on each (:mod:`.run`), compares every headline with
the true effect on the schools it kept (:mod:`.oracle`) and summarises bias, RMSE,
coverage, rejection rates and whether the key-finding sentences are right
(:mod:`.summary`).
"""

from evaluate.validation.worlds import DEFAULT_WORLDS, TARGETS, WORLDS, World

__all__ = ["DEFAULT_WORLDS", "TARGETS", "WORLDS", "World", "validate"]


def validate(*args, **kwargs):
    """See :func:`evaluate.validation.summary.validate`."""
    from evaluate.validation.summary import validate as _validate

    return _validate(*args, **kwargs)
