"""Speech engines: audio decoding, VAD, ASR, speaker embeddings and the transcription pipeline.

Importing the package registers the "vad", "asr" and "speaker_embeddings" engine statuses; models load
on first use.
"""

from trainer_app.engines.speech import asr as _asr  # noqa: F401  (registers "asr")
from trainer_app.engines.speech import speaker_embeddings as _speaker_embeddings  # noqa: F401  (registers "speaker_embeddings")
from trainer_app.engines.speech import vad as _vad  # noqa: F401  (registers "vad")
