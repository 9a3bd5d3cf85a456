"""`policyengine diff`: what a rule change costs, settled under two rule sets and attributed clause
by clause.
"""
