"""The JSON contract (../spec/claims.md): claims in, results and traces out — pydantic models, the
fast claim records the evaluators read, and the published schemas.
"""
