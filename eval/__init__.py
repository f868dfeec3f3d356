"""Evaluation corpus and harness: `make eval` runs the station over a generated,
degraded corpus of commune documents and writes EVALUATION.md.

Nothing here imports the station's code: the corpus is generated from this
package's own templates and word lists, cover and PATCHT sheets are printed by
`sohoa coversheet`, and the station is run as a process (`sohoa run`) and read
from what it writes (packages, journal).
"""
