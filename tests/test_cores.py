"""The cores planner takes for its worker processes and HiGHS threads (`planner.processes.usable_cores`):
those it may run on, and no more than its control group's CPU quota allows (a container's
`--cpus`, a Kubernetes CPU limit), which the affinity does not show."""

from __future__ import annotations

import pytest


def _cgroup(tmp_path, membership: str, files: dict[str, str]):  # noqa: ANN001, ANN202
    """A stand-in /sys/fs/cgroup and /proc/self/cgroup."""
    root = tmp_path / "cgroup"
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    (tmp_path / "membership").write_text(membership)
    return root, tmp_path / "membership"


@pytest.mark.parametrize(("membership", "files", "expected"), [
    # cgroup v2, a container limited to 2.5 CPUs in its own group
    ("0::/pod/box\n", {"pod/box/cpu.max": "250000 100000\n", "pod/cpu.max": "max 100000\n"}, 2.5),
    # v2, the limit on a parent group (a Kubernetes pod's), none on the container's own
    ("0::/pod/box\n", {"pod/box/cpu.max": "max 100000\n", "pod/cpu.max": "100000 100000\n"}, 1.0),
    # v2 seen from inside a container whose cgroups are its own: at the root
    ("0::/\n", {"cpu.max": "150000 100000\n"}, 1.5),
    # cgroup v1, the cpu controller mounted with cpuacct
    ("4:memory:/x\n1:cpu,cpuacct:/job\n", {"cpu,cpuacct/job/cpu.cfs_quota_us": "200000\n",
                                          "cpu,cpuacct/job/cpu.cfs_period_us": "100000\n"}, 2.0),
    # v1 without a quota (-1), and no cgroups at all
    ("1:cpu:/\n", {"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),
    ("", {}, None),
])
def test_a_cpu_quota_is_read_from_the_control_groups(tmp_path, membership, files, expected):
    """Checked for real on this machine's cgroup v1 (2026-12-04): a group with a quota of one
    CPU, usable_cores() 1 where the affinity says 2."""
    from planner.processes import cpu_quota, usable_cores

    root, where = _cgroup(tmp_path, membership, files)
    assert cpu_quota(root, where) == expected
    affinity = usable_cores(tmp_path / "none", tmp_path / "none")
    assert usable_cores(root, where) == (affinity if expected is None else max(1, min(affinity, -(-expected // 1))))
