"""Run-time plumbing every aigov service shares."""
