"""The suite's set-up: Ctrl-C reaches the tests however pytest was started.

A shell starts a background job (`pytest &`) with Ctrl-C ignored, and the processes it starts
inherit that: the tests that send Ctrl-C to a solve in this process then saw nothing arrive
(one waited for ever). Python's own handler is put back here, as a terminal leaves it; the
planner processes the tests start get every stop signal's default action
(`test_signals.default_stop_signals`).
"""

import signal

if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
