"""`python -m planner.cli`: the same as the `planner` command."""

from planner.launch import main

main()
