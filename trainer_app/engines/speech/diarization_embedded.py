"""Embedded diarization backend: no weights to download, runs on a laptop CPU.

1. Speech: Silero VAD (shipped in faster-whisper) probabilities on a 10 ms grid, binarised with
   hysteresis by pyannote.audio's own `Binarize` (onset 0.3, offset 0.15, gaps < 0.3 s filled,
   regions < 0.1 s dropped, 0.2 s padding).
2. Each speech region is brought to the same loudness (far and near microphones sound alike to the
   encoder) and the regions are concatenated, so that embedding windows hold speech, not silence.
3. Speaker embeddings of 1.5 s windows every 0.25 s with the project's speaker encoder
   (`speaker_embeddings`, resemblyzer's GE2E encoder: the same space as voice enrolment).
4. Clustering with pyannote.audio's `AgglomerativeClustering` (average linkage, cosine distance,
   threshold 0.32; clusters with less than 2 s of windows dissolved into the nearest large one). The
   speaker count is found automatically unless num / min / max speakers are given. Only windows that
   lie inside one speech region are clustered: a window across the pause between two regions holds
   the end of one turn and the start of the next, often two voices, and such blends formed a cluster
   of their own (a third "speaker" made of turn edges, see docs/speech-engines.md). They still score
   frames in step 5.
5. Resegmentation: every 10 ms speech frame is scored against every speaker centroid (window
   similarities interpolated between window centres) and a Viterbi pass with a switching penalty
   picks one speaker per frame, so turn boundaries are not tied to the 0.25 s window grid.

One speaker per frame: overlapped speech is attributed to one of the talkers only. The production
backend (a pyannote pipeline) models overlap.
"""

from __future__ import annotations

import contextlib
import io
import logging
from dataclasses import dataclass

import numpy as np

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
BACKEND_NAME = "embedded (Silero VAD + resemblyzer encoder + pyannote clustering)"
OVERLAP_NOTE = "one speaker per moment: overlapped speech is attributed to a single speaker"


@dataclass(frozen=True)
class EmbeddedParams:
    frame_s: float = 0.01
    onset: float = 0.3  # far-field meeting speech sits low on Silero's scale (see docs/speech-engines.md)
    offset: float = 0.15
    min_speech_s: float = 0.1
    min_silence_s: float = 0.3
    pad_s: float = 0.2
    target_rms_dbfs: float = -26.0
    max_gain_db: float = 30.0
    window_s: float = 1.5
    step_s: float = 0.25
    threshold: float = 0.32
    min_cluster_s: float = 2.0
    cluster_within_regions: bool = True  # cluster only windows inside one speech region (False: all windows)
    switch_penalty: float = 0.3  # in units of cosine similarity summed over 10 ms frames
    min_turn_s: float = 0.2  # shorter label runs inside a speech region join their neighbour


@dataclass(frozen=True)
class EmbeddedTurn:
    start: float
    end: float
    cluster: int


# ---------------------------------------------------------------------------------------------
# 1. speech regions


def speech_probabilities(*, samples: np.ndarray, frame_s: float = 0.01) -> np.ndarray:
    """Silero speech probability for every `frame_s` frame (model steps of 32 ms, interpolated)."""
    from trainer_app.engines.speech.vad import _vad_model

    chunk = 512
    n = len(samples)
    padded = np.pad(np.asarray(samples, dtype=np.float32), (0, (-n) % chunk))
    if len(padded) == 0:
        return np.zeros(0, dtype=np.float32)
    probs = np.asarray(_vad_model()(padded), dtype=np.float32).reshape(-1)
    chunk_centres = (np.arange(len(probs)) + 0.5) * chunk / SAMPLE_RATE
    n_frames = int(np.ceil(n / SAMPLE_RATE / frame_s))
    frame_centres = (np.arange(n_frames) + 0.5) * frame_s
    return np.interp(frame_centres, chunk_centres, probs).astype(np.float32)


def speech_regions(*, samples: np.ndarray, params: EmbeddedParams) -> list[tuple[float, float]]:
    """Speech regions (start_s, end_s) from Silero probabilities with pyannote's hysteresis."""
    from pyannote.core import SlidingWindow, SlidingWindowFeature

    from trainer_app.engines.speech.pyannote_env import pyannote_import

    Binarize = pyannote_import().utils.signal.Binarize
    probs = speech_probabilities(samples=samples, frame_s=params.frame_s)
    if len(probs) == 0:
        return []
    frames = SlidingWindow(start=0.0, duration=params.frame_s, step=params.frame_s)
    binarize = Binarize(
        onset=params.onset,
        offset=params.offset,
        min_duration_on=params.min_speech_s,
        min_duration_off=params.min_silence_s,
        pad_onset=params.pad_s,
        pad_offset=params.pad_s,
    )
    active = binarize(SlidingWindowFeature(probs[:, None], frames))
    duration = len(samples) / SAMPLE_RATE
    regions = []
    for segment in active.get_timeline().support():
        start, end = max(0.0, segment.start), min(duration, segment.end)
        if end - start >= params.min_speech_s:
            regions.append((start, end))
    return regions


# ---------------------------------------------------------------------------------------------
# 2-3. embeddings of concatenated speech


def _normalised_speech(
    *, samples: np.ndarray, regions: list[tuple[float, float]], params: EmbeddedParams
) -> tuple[np.ndarray, np.ndarray]:
    """Concatenated speech with each region at the same RMS level, and each sample's original index."""
    target = 10 ** (params.target_rms_dbfs / 20)
    max_gain = 10 ** (params.max_gain_db / 20)
    pieces, index = [], []
    for start, end in regions:
        a, b = int(round(start * SAMPLE_RATE)), int(round(end * SAMPLE_RATE))
        piece = samples[a:b].astype(np.float32)
        if len(piece) == 0:
            continue
        rms = float(np.sqrt(np.mean(np.square(piece, dtype=np.float64))))
        gain = min(max_gain, target / rms) if rms > 0 else 1.0
        pieces.append(np.clip(piece * gain, -1.0, 1.0))
        index.append(np.arange(a, a + len(piece)))
    if not pieces:
        return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
    return np.concatenate(pieces).astype(np.float32), np.concatenate(index)


def window_embeddings(*, speech: np.ndarray, params: EmbeddedParams) -> tuple[np.ndarray, np.ndarray]:
    from trainer_app.engines.speech.speaker_embeddings import speaker_embed_windows

    embeddings, centres = speaker_embed_windows(
        samples=speech, sample_rate=SAMPLE_RATE, window_s=params.window_s, step_s=params.step_s
    )
    embeddings = np.asarray(embeddings, dtype=np.float64)
    embeddings /= np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-12)
    return embeddings, np.asarray(centres, dtype=np.float64)


# ---------------------------------------------------------------------------------------------
# 4. clustering


def cluster_windows(
    *,
    embeddings: np.ndarray,
    params: EmbeddedParams,
    num_speakers: int | None,
    min_speakers: int | None,
    max_speakers: int | None,
) -> np.ndarray:
    """Cluster index per window with pyannote.audio's agglomerative clustering."""
    from trainer_app.engines.speech.pyannote_env import pyannote_import

    AgglomerativeClustering = pyannote_import().pipelines.clustering.AgglomerativeClustering
    n = len(embeddings)
    if n == 1:
        return np.zeros(1, dtype=int)
    clustering = AgglomerativeClustering(metric="cosine")
    min_cluster_windows = max(1, int(round(params.min_cluster_s / params.step_s)))
    clustering.instantiate(
        {"method": "average", "threshold": params.threshold, "min_cluster_size": min(20, min_cluster_windows)}
    )
    min_clusters = max(1, min_speakers or 1)
    max_clusters = max(min_clusters, min(max_speakers or n, n))
    if num_speakers is not None:
        num_speakers = min(num_speakers, n)
    # pyannote prints a hint when it cannot reach the requested count; keep stdout clean.
    with contextlib.redirect_stdout(io.StringIO()):
        clusters = clustering.cluster(
            embeddings.copy(), min_clusters=min_clusters, max_clusters=max_clusters, num_clusters=num_speakers
        )
    _, clusters = np.unique(np.asarray(clusters), return_inverse=True)
    return clusters.astype(int)


# ---------------------------------------------------------------------------------------------
# 5. resegmentation


def viterbi(*, scores: np.ndarray, switch_penalty: float | np.ndarray) -> np.ndarray:
    """Best state path through (n_frames, n_states) scores, paying `switch_penalty` per change
    (a scalar, or one value per frame: the cost of changing state on entering that frame)."""
    n_frames, n_states = scores.shape
    if n_states == 1:
        return np.zeros(n_frames, dtype=int)
    penalties = np.broadcast_to(np.asarray(switch_penalty, dtype=np.float64), (n_frames,))
    backpointer = np.zeros((n_frames, n_states), dtype=np.int32)
    total = scores[0].copy()
    stay = np.arange(n_states)
    for t in range(1, n_frames):
        best_other = int(np.argmax(total))
        switch_value = total[best_other] - penalties[t]
        use_switch = switch_value > total
        backpointer[t] = np.where(use_switch, best_other, stay)
        total = np.where(use_switch, switch_value, total) + scores[t]
    path = np.zeros(n_frames, dtype=int)
    path[-1] = int(np.argmax(total))
    for t in range(n_frames - 1, 0, -1):
        path[t - 1] = backpointer[t, path[t]]
    return path


def windows_for_clustering(*, centres: np.ndarray, boundaries: np.ndarray, params: EmbeddedParams) -> np.ndarray:
    """Which windows the clustering sees: those inside one speech region of the concatenated speech,
    and for a region too short to hold a whole window, the window centred nearest its middle (someone
    who only says short things is still a speaker). `boundaries`: the sample where each region after
    the first begins; a 10 ms tolerance absorbs the encoder's frame rounding."""
    edges = np.asarray(boundaries, dtype=np.float64) / SAMPLE_RATE
    tolerance = params.frame_s
    first = np.searchsorted(edges, centres - params.window_s / 2 + tolerance, side="right")
    last = np.searchsorted(edges, centres + params.window_s / 2 - tolerance, side="right")
    chosen = first == last
    region_of = np.searchsorted(edges, centres, side="right")
    starts = np.concatenate([[0.0], edges])
    ends = np.concatenate([edges, [np.inf]])
    for region in np.setdiff1d(np.arange(len(starts)), region_of[chosen]):
        middle = (starts[region] + min(ends[region], centres[-1] + params.window_s / 2)) / 2
        chosen[int(np.argmin(np.abs(centres - middle)))] = True
    return chosen


def centroids_of(*, embeddings: np.ndarray, clusters: np.ndarray) -> np.ndarray:
    """L2-normalised mean embedding of each cluster 0..k-1."""
    k = int(clusters.max()) + 1
    centroids = np.stack([embeddings[clusters == c].mean(axis=0) for c in range(k)])
    return centroids / np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-12)


def resegment(
    *,
    embeddings: np.ndarray,
    centres: np.ndarray,
    centroids: np.ndarray,
    n_speech_samples: int,
    boundaries: np.ndarray,
    params: EmbeddedParams,
) -> tuple[np.ndarray, np.ndarray]:
    """(frame label, frame centre time in concatenated speech) for every 10 ms of speech."""
    k = len(centroids)
    similarity = embeddings @ centroids.T  # (n_windows, k)
    n_frames = max(1, int(np.ceil(n_speech_samples / SAMPLE_RATE / params.frame_s)))
    frame_times = (np.arange(n_frames) + 0.5) * params.frame_s
    if len(centres) == 1:
        frame_scores = np.repeat(similarity, n_frames, axis=0)
    else:
        frame_scores = np.stack([np.interp(frame_times, centres, similarity[:, c]) for c in range(k)], axis=1)
    # a pause between speech regions is where speakers usually change: changing there is free
    penalties = np.full(n_frames, params.switch_penalty)
    boundary_frames = np.ceil(np.asarray(boundaries, dtype=np.float64) / SAMPLE_RATE / params.frame_s).astype(int)
    penalties[boundary_frames[(boundary_frames > 0) & (boundary_frames < n_frames)]] = 0.0
    return viterbi(scores=frame_scores, switch_penalty=penalties), frame_times


def frame_labels(
    *,
    embeddings: np.ndarray,
    centres: np.ndarray,
    n_speech_samples: int,
    boundaries: np.ndarray,
    params: EmbeddedParams,
    num_speakers: int | None = None,
    min_speakers: int | None = None,
    max_speakers: int | None = None,
) -> np.ndarray:
    """Steps 4-5 on the windows of concatenated speech: a speaker label for every 10 ms frame."""
    chosen = np.ones(len(embeddings), dtype=bool)
    if params.cluster_within_regions:
        chosen = windows_for_clustering(centres=centres, boundaries=boundaries, params=params)
    clusters = cluster_windows(
        embeddings=embeddings[chosen],
        params=params,
        num_speakers=num_speakers,
        min_speakers=min_speakers,
        max_speakers=max_speakers,
    )
    centroids = centroids_of(embeddings=embeddings[chosen], clusters=clusters)
    labels, _ = resegment(
        embeddings=embeddings, centres=centres, centroids=centroids, n_speech_samples=n_speech_samples,
        boundaries=boundaries, params=params,
    )  # fmt: skip
    return labels


def _frames_to_turns(*, labels: np.ndarray, index: np.ndarray, params: EmbeddedParams) -> list[EmbeddedTurn]:
    """Map labelled frames of concatenated speech back to the original timeline as turns."""
    if len(index) == 0:
        return []
    # sample-accurate: label each concatenated sample by its frame, then cut where the label or the
    # original time jumps (region boundaries)
    frame_of_sample = np.minimum(np.arange(len(index)) // int(round(params.frame_s * SAMPLE_RATE)), len(labels) - 1)
    sample_labels = labels[frame_of_sample]
    breaks = np.flatnonzero((np.diff(sample_labels) != 0) | (np.diff(index) != 1)) + 1
    starts = np.concatenate([[0], breaks])
    ends = np.concatenate([breaks, [len(index)]])
    runs = [[int(a), int(b), int(sample_labels[a])] for a, b in zip(starts, ends, strict=True)]
    # a run shorter than min_turn_s joins the run it touches in the same speech region (previous first);
    # neighbours that then share a label and touch become one turn. One linear pass.
    min_len = int(params.min_turn_s * SAMPLE_RATE)
    merged: list[list[int]] = []
    carry: int | None = None  # start of a short run waiting to join the next one
    for k, (a, b, label) in enumerate(runs):
        if carry is not None:
            a, carry = carry, None
        touches_prev = bool(merged) and index[a] - index[merged[-1][1] - 1] == 1
        if b - a < min_len and touches_prev:
            merged[-1][1] = b
            continue
        if b - a < min_len and k + 1 < len(runs) and index[runs[k + 1][0]] - index[b - 1] == 1:
            carry = a
            continue
        if touches_prev and merged[-1][2] == label:
            merged[-1][1] = b
        else:
            merged.append([a, b, label])
    return [EmbeddedTurn(index[a] / SAMPLE_RATE, (index[b - 1] + 1) / SAMPLE_RATE, label) for a, b, label in merged]


# ---------------------------------------------------------------------------------------------
# entry point


def diarize_embedded(
    *,
    samples: np.ndarray,
    num_speakers: int | None = None,
    min_speakers: int | None = None,
    max_speakers: int | None = None,
    params: EmbeddedParams | None = None,
) -> tuple[list[EmbeddedTurn], list[str]]:
    """Turns (original timeline, cluster indices 0..k-1 by first appearance) and notes."""
    params = params or EmbeddedParams()
    samples = np.asarray(samples, dtype=np.float32)
    notes = [OVERLAP_NOTE]
    regions = speech_regions(samples=samples, params=params)
    if not regions:
        return [], [*notes, "no speech detected"]
    speech, index = _normalised_speech(samples=samples, regions=regions, params=params)
    embeddings, centres = window_embeddings(speech=speech, params=params)
    boundaries = np.flatnonzero(np.diff(index) != 1) + 1  # where one speech region ends and the next begins
    labels = frame_labels(
        embeddings=embeddings, centres=centres, n_speech_samples=len(speech), boundaries=boundaries, params=params,
        num_speakers=num_speakers, min_speakers=min_speakers, max_speakers=max_speakers,
    )  # fmt: skip
    turns = _frames_to_turns(labels=labels, index=index, params=params)
    # relabel by first appearance so that SPEAKER_00 speaks first
    order: dict[int, int] = {}
    for turn in turns:
        order.setdefault(turn.cluster, len(order))
    turns = [EmbeddedTurn(t.start, t.end, order[t.cluster]) for t in turns]
    if num_speakers is not None and len(order) < num_speakers:
        notes.append(f"asked for {num_speakers} speakers; only {len(order)} remained after resegmentation")
    return turns, notes
