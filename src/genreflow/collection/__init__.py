"""Your own music as a dataset: a folder ``ROOT/<genre>/**/<file>`` or a CSV of songs.

- :mod:`~genreflow.collection.discover`: the files a collection holds and their genres
  (light: read when the workflow is parsed);
- :mod:`~genreflow.collection.aliases`: folder names to genre labels;
- :mod:`~genreflow.collection.pinned`: the pinned registry, and how the collection on
  disk differs from it (light);
- :mod:`~genreflow.collection.pin`: writing the registry (checksums, headers, tags);
- :mod:`~genreflow.collection.scan`: quarantine by decoding.
"""
