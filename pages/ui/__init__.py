"""Shared UI of NN Studio's pages, one concern per module (Streamlit treats no file in a subfolder of
``pages/`` as a page): :mod:`.state` (the session object), :mod:`.data` (process-wide read-only
caches), :mod:`.sidebar`, :mod:`.charts`, :mod:`.format`, :mod:`.notices`, :mod:`.nav`."""
