"""A person's data as one archive: data.json (every app's records) and their audio files."""

from __future__ import annotations

import io
import json
import zipfile

from django.utils import timezone

from trainer_app.privacy.registry import privacy_contributors


def person_export_archive(*, user) -> bytes:
    """ZIP bytes: ``data.json`` plus ``files/<section>/...`` for every file an app holds about ``user``."""
    data = {"exported_at": timezone.now().isoformat(), "user_id": user.pk, "sections": {}}
    files: dict[str, object] = {}
    for contributor in privacy_contributors():
        part = contributor.export(user=user)
        data["sections"][contributor.name] = part.records
        for name, path in part.files.items():
            files[f"files/{contributor.name}/{name}"] = path
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.json", json.dumps(data, indent=2, ensure_ascii=False, default=str))
        missing = []
        for name, path in sorted(files.items()):
            if path.is_file():
                archive.write(path, arcname=name)
            else:
                missing.append(name)
        if missing:  # said, not silently left out
            archive.writestr("missing-files.txt", "\n".join(missing) + "\n")
    return buffer.getvalue()
