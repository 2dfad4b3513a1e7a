"""The built-in encoder families; importing this package registers them (as a user's plugin would)."""

from families import (  # noqa: F401  (registration side effects)
    albert,
    bert,
    deberta_v2,
    distilbert,
    electra,
    ernie,
    modernbert,
    roberta,
    roformer,
    xlm_roberta,
)
