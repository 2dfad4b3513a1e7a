"""Task records; importing this package registers every built-in task."""

from tasks import fewclue, glue  # noqa: F401  (registration side effects)
from tasks.spec import TASKS, DataFile, HubSource, TaskSpec, get_task, register_task

__all__ = ["TASKS", "DataFile", "HubSource", "TaskSpec", "get_task", "register_task"]
