"""The sync machinery behind the operators: internal, with no compatibility promise between releases.

Each module has one job, named for it: a record's outcome, the batch runner and summary, what
Thredfi holds (lookups and the plan), the chunks of source rows, the sync state, the run that
ties them together, and where reports are stored. Import the operators, not these.
"""
