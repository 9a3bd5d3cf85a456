"""The language server for rule files: `policyengine lsp` (server.py on pygls), what it knows
of a policy (analysis.py) and completion (completion.py). docs/authoring.md §5 sets up editors."""
