"""Import of CSV and XLSX files into the CRM, and CSV/XLSX export of lists.

Our own small engine on `csv` and `openpyxl` (read-only streaming) rather than
django-import-export/tablib: those load the whole dataset in memory and save row by row, which
cannot meet the targets of 200 MB files, 100,000 orders in a minute and all-or-nothing reports with
set-based relation lookups. The rules still come from the domain services' own helpers.
"""
