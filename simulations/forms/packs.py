"""Uploading and downloading packs in the authoring UI."""

from __future__ import annotations

from django import forms
from django.conf import settings

from simulations.packs.registry import pack_section_choices, pack_sections


class PackImportForm(forms.Form):
    file = forms.FileField(label="Pack file (YAML)", widget=forms.ClearableFileInput(attrs={"accept": ".yaml,.yml", "data-testid": "pack-file"}),
                           help_text=f"At most {settings.PACK_MAX_BYTES // 1024 // 1024} MiB.")
    update = forms.BooleanField(required=False, label="Update items that already exist (scenarios get a new version)",
                                widget=forms.CheckboxInput(attrs={"data-testid": "pack-update"}))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        # Checked before reading: the size is known from the upload handler.
        if upload.size > settings.PACK_MAX_BYTES:
            raise forms.ValidationError(
                f"The file is {upload.size:,} bytes; the limit is {settings.PACK_MAX_BYTES:,} bytes."
            )
        return upload


class PackExportForm(forms.Form):
    slugs = forms.MultipleChoiceField(required=False, label="What to export",
                                      widget=forms.CheckboxSelectMultiple(attrs={"data-testid": "pack-export-slugs"}),
                                      help_text="Personas and frameworks that the chosen scenarios use are included. Choose nothing to export everything.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["slugs"].choices = [
            (section.name.capitalize(), [(slug, f"{label} ({slug})") for slug, label in pack_section_choices(name=section.name)])
            for section in pack_sections()
        ]
