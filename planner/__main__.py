"""`python -m planner`: the `planner` command, Ctrl-C handled from the first moment as there
(`planner.launch`; `python -m planner.cli` loads the command line before it can)."""

from planner.launch import main

main()
