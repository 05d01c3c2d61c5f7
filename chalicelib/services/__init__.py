"""Domain services: the use cases. They depend on ``core`` (entities, errors, ports) and pure libraries only;
storage and AWS are reached through the ports that ``container`` injects."""
