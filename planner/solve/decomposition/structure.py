"""The blocks of a compiled planning model: one per material, once its links are taken out.

The model declares what links the materials (`planner.model.structure`): the CVaR tail rows,
the worst-case rows of an ambiguity set and the budget row; the value at risk, the tail
excesses, the worst case's level and excesses, the agreements signed; the links z_o <= w_g.
Without them the compiled matrix falls apart into connected parts; each part holding a
material's recourse cost is that material's block, and the other parts form one block more.
Each agreement gets a copy w^b_g in every block it gates.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from planner.model.structure import Structure as ModelStructure


@dataclass
class Block:
    """One material's columns and rows (a connected part of the model without its links)."""

    columns: np.ndarray  # column indices in the whole model
    rows: np.ndarray
    copies: list[int]  # agreement columns this block's links refer to (each copied into it)
    has_integers: bool

    @property
    def all_columns(self) -> np.ndarray:
        return np.concatenate([self.columns, np.array(self.copies, dtype=int)])


@dataclass
class RiskColumns:
    """The columns of the risk measure's linking rows, each array in the order of its rows
    (docs/model.md 3.4 and 3.5; empty where the model has none)."""

    value_at_risk: np.ndarray  # eta: one column at lambda > 0
    tail_excess: np.ndarray  # e_s, one per tail row
    worst_level: np.ndarray  # rho: one column with ambiguity
    worst_above: np.ndarray  # beta_s, one per worst-case row
    worst_below: np.ndarray  # gamma_s, one per worst-case row

    @property
    def all(self) -> np.ndarray:
        return np.concatenate([self.value_at_risk, self.tail_excess, self.worst_level, self.worst_above,
                               self.worst_below])


@dataclass
class Structure:
    """Where the links are in the compiled model, and the blocks without them."""

    blocks: list[Block]
    linking_rows: np.ndarray  # tail rows (one per scenario), worst-case rows (one per scenario), the budget row
    tail_count: int  # the first tail_count linking rows are tail rows
    worst_count: int  # the next worst_count are worst-case rows
    risk: RiskColumns
    linking_columns: np.ndarray  # the risk columns, then the w_g
    agreements: np.ndarray  # columns of w_g
    links: dict[tuple[int, int], list[int]]  # (block, agreement column) -> link rows z_o <= w_g
    integer: np.ndarray  # integer columns of the whole model

    @cached_property
    def agreement_copies(self) -> dict[int, list[tuple[int, int]]]:
        """Agreement column -> its copies (block, agreement column), in the order of `links`."""
        copies: dict[int, list[tuple[int, int]]] = {}
        for key in self.links:
            copies.setdefault(key[1], []).append(key)
        return copies


def find_structure(declared: ModelStructure, columns: list, rows: list, matrix: sp.csr_matrix) -> Structure | None:
    """The blocks of a compiled planning model from what it declares (its linking rows and
    columns, its agreement links, its material costs), or None when fewer than two blocks
    hold binaries (nothing to decompose)."""
    index = {id(v): j for j, v in enumerate(columns)}

    def cols_of(component: object) -> np.ndarray:
        if component is None:
            return np.zeros(0, dtype=int)
        return np.array([index[id(v)] for v in component.values() if id(v) in index], dtype=int)

    rows_by_component: dict[int, list[int]] = {}
    for i, con in enumerate(rows):
        rows_by_component.setdefault(id(con.parent_component()), []).append(i)

    def rows_of(component: object) -> np.ndarray:
        return np.array(rows_by_component.get(id(component), []) if component is not None else [], dtype=int)

    tail_rows, worst_rows = rows_of(declared.tail_rows), rows_of(declared.worst_case_rows)
    risk = RiskColumns(cols_of(declared.value_at_risk), cols_of(declared.tail_excess),
                       cols_of(declared.worst_case_level), cols_of(declared.worst_case_above),
                       cols_of(declared.worst_case_below))
    agreements = cols_of(declared.agreements)
    budget = rows_of(declared.budget_row)
    link_rows = rows_of(declared.agreement_links)
    integer = np.array([j for j, v in enumerate(columns) if v.is_integer()], dtype=int)

    n_rows, n_cols = matrix.shape
    linking_rows = np.zeros(n_rows, dtype=bool)
    linking_rows[np.concatenate([tail_rows, worst_rows, budget])] = True
    linking_cols = np.zeros(n_cols, dtype=bool)
    linking_cols[np.concatenate([risk.all, agreements])] = True
    kept_rows, kept_cols = np.flatnonzero(~linking_rows), np.flatnonzero(~linking_cols)
    inner = matrix[kept_rows][:, kept_cols]
    count, label = connected_components(sp.bmat([[None, inner], [inner.T, None]], format="csr"), directed=False)
    row_label, col_label = label[:len(kept_rows)], label[len(kept_rows):]
    recourse = np.zeros(n_cols, dtype=bool)
    recourse[cols_of(declared.material_costs)] = True
    is_integer = np.zeros(n_cols, dtype=bool)
    is_integer[integer] = True

    # a block per part holding recourse costs (a material); all other parts form one more
    groups: dict[int, int] = {}
    for part in range(count):
        if recourse[kept_cols[col_label == part]].any():
            groups[part] = len(groups)
    rest = len(groups)
    block_of_col = np.array([groups.get(part, rest) for part in col_label])
    block_of_row = np.array([groups.get(part, rest) for part in row_label])
    n_blocks = rest + int((block_of_col == rest).any() or (block_of_row == rest).any())
    with_binaries = {int(b) for b in block_of_col[is_integer[kept_cols]]}
    if len(with_binaries) < 2:
        return None

    links: dict[tuple[int, int], list[int]] = {}
    agreement_set = set(agreements.tolist())
    row_position = {int(r): k for k, r in enumerate(kept_rows)}
    for i in link_rows:
        entries = matrix.indices[matrix.indptr[i]:matrix.indptr[i + 1]]
        for g in entries:
            if int(g) in agreement_set:
                links.setdefault((int(block_of_row[row_position[int(i)]]), int(g)), []).append(int(i))
    blocks = []
    for b in range(n_blocks):
        copies = sorted(g for (bb, g) in links if bb == b)
        columns = kept_cols[block_of_col == b]
        blocks.append(Block(columns, kept_rows[block_of_row == b], copies, bool(is_integer[columns].any())))
    return Structure(blocks, np.concatenate([tail_rows, worst_rows, budget]), len(tail_rows), len(worst_rows), risk,
                     np.concatenate([risk.all, agreements]), agreements, links, integer)
