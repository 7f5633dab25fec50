"""The numbers: k6's raw CSV -> summary -> history -> change points; comparisons, the paired A/B, the gate.

It writes data files (summary files, history records, comparisons) and never a page: `report/` does.
"""
