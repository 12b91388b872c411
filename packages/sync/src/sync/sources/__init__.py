"""Where commits and pull requests come from: a local git repository or a GitHub-style API.

Each source yields :class:`~sync.sources.batch.Batch` objects — rows to upsert plus the cursor to
resume from once they are written — so the activity that persists them is the same for both.
"""
