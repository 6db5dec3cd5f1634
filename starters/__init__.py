"""What the timer and HTTP functions do; function_app.py only wires triggers to these.

cycles.py    start (timer and HTTP), status, list of runs
commands.py  cancel, pause, resume, approve/reject a running cycle (durable external events)
clusters.py  a cluster's lock and progress; breaking the lock; releasing dead lock holders
"""
