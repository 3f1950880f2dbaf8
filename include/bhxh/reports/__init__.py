"""Reports ("báo cáo tổng hợp"): the consolidation of a cycle from the store, its comparison with the targets
and the previous cycle, the task matrix, the status board's matrix, and the documents (HTML, XLSX, DOCX).

Above the calendar and the store; imports nothing of intake, notify or the steps.
"""
