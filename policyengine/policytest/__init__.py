"""YAML test cases beside a policy: read, run (by `policyengine test` and by pytest), coverage."""
