"""The chat side: commands, the greeting, the closure saver and its outbox, the state store, the
chat watch (assignments and closures), configuration and access rules."""
