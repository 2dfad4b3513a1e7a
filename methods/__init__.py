"""Method builders; importing this package registers every built-in method."""

from methods import full_ft, hard_prompt  # noqa: F401  (registration side effects)
from methods.spec import METHODS, BuiltMethod, MethodConfig, get_method, register_method

__all__ = ["METHODS", "BuiltMethod", "MethodConfig", "get_method", "register_method"]
