"""The pipeline room: stages (input gate, generator, output gate, signing), their registry, the
runners that drive them in-process, and the Kafka worker."""
