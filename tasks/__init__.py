"""The built-in tasks, written in the task-file dialect (tasks/definitions/*.yaml), and the built-in
protocols (tasks/protocols/*.yaml); importing this package registers them, as --task-file and
--protocol FILE register a user's."""

from pathlib import Path

from tasks.dialect import load_task_file
from tasks.protocol_files import load_protocol_file

DEFINITIONS = Path(__file__).resolve().parent / "definitions"
PROTOCOLS = Path(__file__).resolve().parent / "protocols"

for _definition in sorted(DEFINITIONS.glob("*.yaml")):
    load_task_file(_definition)
for _protocol in sorted(PROTOCOLS.glob("*.yaml")):
    load_protocol_file(_protocol)
