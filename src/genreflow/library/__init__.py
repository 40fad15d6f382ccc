"""Classifying a whole music library: ``genreflow classify`` (:mod:`.classify`), the
resumable table it writes (:mod:`.table`) and the genre tags it writes when asked
(:mod:`.tags`)."""
