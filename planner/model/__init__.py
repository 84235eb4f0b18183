"""The sourcing model of docs/model.md section 3.

- `build.create_model` (Pyomo) reads top to bottom and returns a `structure.BuiltModel`;
- `decisions`: sets and decision variables; `costs`: costs, CVaR and objectives;
- one module per constraint family, with its rows, slack, explanation and check:
  `contract` (1), `agreement` (2), `spot` (3), `balance` (4), `service_level` (5),
  `diversification` (6), `average_risk` (7), `share_limit` (8), `budget` (9), listed in
  `families`;
- `parameters`: what a re-solve may change; `relaxation`: the elastic model's objective.

Only `builder` and `build` import Pyomo; the family modules are read without it (their
checks serve `planner verify`).
"""
