"""The built-in methods; importing this package registers them (as a user's plugin would)."""

from methods import (  # noqa: F401  (registration side effects)
    full_ft,
    hard_prompt,
    linear_probe,
    lora,
    lpt,
    mask_pool,
    p_tuning,
    p_tuning_v2,
    prefix_tuning,
    prompt_tuning,
    setfit_method,
)
