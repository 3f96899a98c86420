"""Templates: load (YAML/JSON), validate (schemas/ + semantic checks), compile into Meta."""
