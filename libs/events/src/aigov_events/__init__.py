"""aigov event contract: envelope, catalog, topics, producer, consumer runner, embedded bus."""
