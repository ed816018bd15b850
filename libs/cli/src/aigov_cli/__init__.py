"""aigov command-line client: register AI systems, send release evidence, ask the release gate."""
