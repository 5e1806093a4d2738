"""Speech engines: audio decoding, VAD, ASR, speaker embeddings, diarization and the transcription pipeline.

Importing the package registers the "vad", "asr", "asr_recording", "speaker_embeddings" and "diarization"
engine statuses; models load on first use, or (the live recognizer) when a speech worker starts.
"""

from trainer_app.engines.speech import asr as _asr  # noqa: F401  (registers "asr")
from trainer_app.engines.speech import diarization as _diarization  # noqa: F401  (registers "diarization")
from trainer_app.engines.speech import speaker_embeddings as _speaker_embeddings  # noqa: F401  (registers "speaker_embeddings")
from trainer_app.engines.speech import vad as _vad  # noqa: F401  (registers "vad")
from trainer_app.engines.speech import warm as _warm  # noqa: F401  (loads the live recognizer at worker start)
