"""Settling many claims: the local batch (index → settle → merge, with a per-person ledger) and the
same on Apache Spark.
"""
