"""Method builders; importing this package registers every built-in method."""

from methods import (  # noqa: F401  (registration side effects)
    full_ft,
    hard_prompt,
    lora,
    lpt,
    mask_pool,
    p_tuning,
    p_tuning_v2,
    prefix_tuning,
    prompt_tuning,
)
from methods.spec import METHODS, BuiltMethod, MethodConfig, get_method, register_method

__all__ = ["METHODS", "BuiltMethod", "MethodConfig", "get_method", "register_method"]
