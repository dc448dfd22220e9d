"""Episode digests: one self-contained HTML page per indexed episode, a contact sheet and a JSON, and a
library index linking them (``animevid digest``).

A page shows a timeline of shots coloured by scene (cut marks, OP/ED/recap bands), each scene's
keyframes (representative and different from each other), dialogue and cast, the sakuga highlights,
loops as animations, plots of drawings per second, motion and cut rate, and a contact sheet. It works
offline: pictures are inline ``data:`` URIs sized for the page, and it needs no script.
"""

from animevid.digest._pictures import DigestProgress
from animevid.digest._write import DigestError, DigestFiles, write_digest, write_library_digest

__all__ = ["DigestError", "DigestFiles", "DigestProgress", "write_digest", "write_library_digest"]
