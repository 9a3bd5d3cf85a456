"""What the language's words mean, shared by the checker and both evaluators: the vocabulary of the
claim contract, values and units, matching, finding wording.
"""
