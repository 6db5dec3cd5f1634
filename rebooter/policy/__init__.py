"""Policy: the plan, maintenance windows, blockers and alerts, label selectors."""
