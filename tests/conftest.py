"""The suite's set-up: Ctrl-C reaches the tests however pytest was started, and no test may
make Pyomo warn (`no_pyomo_warnings`).

A shell starts a background job (`pytest &`) with Ctrl-C ignored, and the processes it starts
inherit that: the tests that send Ctrl-C to a solve in this process then saw nothing arrive
(one waited for ever). Python's own handler is put back here, as a terminal leaves it; the
planner processes the tests start get every stop signal's default action
(`test_signals.default_stop_signals`).
"""

import logging
import signal
from collections.abc import Iterator

import pytest

if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(autouse=True)
def no_pyomo_warnings() -> Iterator[None]:
    """Pyomo warns where planner hands it what it should not (a value outside its variable's
    bounds): no test may make it warn. Found by a hunt, where such warnings also broke
    `--json` on stdout (tests/test_scenarios.py)."""
    records: list[logging.LogRecord] = []
    catcher = logging.Handler(logging.WARNING)
    catcher.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("pyomo")
    logger.addHandler(catcher)
    yield
    logger.removeHandler(catcher)
    assert not records, [record.getMessage() for record in records]
