"""Classifying a whole music library: ``genreflow classify`` (:mod:`.classify`) and the
resumable table it writes (:mod:`.table`)."""
