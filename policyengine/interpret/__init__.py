"""The reference interpreter: reads the IR row by row, written independently of compile/ so the
differential tests compare two implementations.
"""
