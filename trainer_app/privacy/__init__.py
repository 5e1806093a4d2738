"""People's data under their control: consent, retention, export and erasure.

The core knows nothing of sessions or recordings; each app registers what it holds about
a person (``registry.privacy_contributor_register``) from its ``AppConfig.ready()``, and the
services here run every contributor. What is stored, where and for how long: docs/privacy.md.
"""
