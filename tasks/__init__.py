"""The built-in tasks, written in the task-file dialect (tasks/definitions/*.yaml); importing this
package registers them, as --task-file registers a user's."""

from pathlib import Path

from tasks.dialect import load_task_file

DEFINITIONS = Path(__file__).resolve().parent / "definitions"

for _definition in sorted(DEFINITIONS.glob("*.yaml")):
    load_task_file(_definition)
