"""Pages from computed results: the inputs loaded once, the findings in words, the charts, the site.

Beside `runner/`: it reads what `analysis/` computed (summary files, history, A/B records) and
never a raw k6 CSV.
"""
