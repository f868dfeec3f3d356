"""The station's records task: pages -> record files -> packages staged for upload.

The library it builds on (cover sheets, OCR, classification, PDF/A, SIP_hoso)
is the top-level ``records`` package, shared with the central archive; this
package holds only what runs inside the agent: the splitter, the journal
tables, the technician's review and the task loop (docs/design.md §6).
"""
