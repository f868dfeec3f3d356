"""Records: from cleaned pages to TT 05/2025 archive packages.

Cover sheets split the page stream into record files, tesseract reads the
pages, rules in a data table classify each document, and every record file
becomes one SIP_hoso package of PDF/A-2b documents (docs/design.md §6).
"""
