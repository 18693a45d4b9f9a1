"""Evaluation tasks, by name (written out by hand: the YAML `eval.tasks` names keys of TASKS)."""

from xinstruct.evaluate.tasks.lab_qa import lab_qa

TASKS = {
    "lab_qa": lab_qa,
}
