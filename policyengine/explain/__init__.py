"""`policyengine explain`: a result's trace rendered for people (rich text, markdown) or stored as
a document.
"""
