"""A pyannote.audio 4 speaker-diarization pipeline with tiny random-weight models, in pyannote's own formats.

The directory it writes has the layout of pyannote/speaker-diarization-community-1:

    config.yaml                     pipeline: SpeakerDiarization, models referenced as $model/<subfolder>
    segmentation/pytorch_model.bin  Lightning checkpoint of pyannote's SimpleSegmentationModel (debug model),
                                    powerset over 3 speakers, at most 2 at once
    embedding/pytorch_model.bin     Lightning checkpoint of pyannote's XVectorMFCC (32-dim)
    plda/xvec_transform.npz         mean1, mean2, lda (the x-vector transform VBx expects)
    plda/plda.npz                   mu, tr, psi

so that `Pipeline.from_pretrained(directory)` takes its real loading path (config expansion, checkpoint
loading with architecture lookup, PLDA setup) and the pipeline runs end to end. The weights are random:
results are meaningless, shapes and formats are real. The segmentation classifier is biased towards the
powerset classes {speaker 1} and {speaker 2} so that the pipeline finds speech to cluster.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

EMBEDDING_DIM = 32
LDA_DIM = 16


def _save_checkpoint(*, model, path: Path) -> None:
    import lightning
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    checkpoint = {
        "state_dict": model.state_dict(),
        "hyper_parameters": dict(model.hparams),
        "pytorch-lightning_version": lightning.__version__,
    }
    model.on_save_checkpoint(checkpoint)  # pyannote's own block: versions, architecture, specifications
    torch.save(checkpoint, path)


def tiny_pyannote_pipeline_build(*, root: Path, seed: int = 0) -> Path:
    import torch
    import yaml

    from trainer_app.engines.speech.pyannote_env import pyannote_import

    pyannote_import()
    from pyannote.audio.core.task import Problem, Resolution, Specifications
    from pyannote.audio.models.embedding.xvector import XVectorMFCC
    from pyannote.audio.models.segmentation.debug import SimpleSegmentationModel

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)

    segmentation = SimpleSegmentationModel()
    segmentation.specifications = Specifications(
        problem=Problem.MONO_LABEL_CLASSIFICATION,
        resolution=Resolution.FRAME,
        duration=5.0,
        classes=["speaker#1", "speaker#2", "speaker#3"],
        powerset_max_classes=2,
        permutation_invariant=True,
    )
    segmentation.build()
    with torch.no_grad():  # powerset order: {}, {1}, {2}, {3}, {1,2}, {1,3}, {2,3}
        segmentation.classifier.weight.mul_(0.1)
        segmentation.classifier.bias.copy_(torch.tensor([0.0, 3.0, 2.5, -3.0, -3.0, -3.0, -3.0]))
    _save_checkpoint(model=segmentation, path=root / "segmentation" / "pytorch_model.bin")

    embedding = XVectorMFCC(dimension=EMBEDDING_DIM)
    embedding.specifications = Specifications(
        problem=Problem.REPRESENTATION, resolution=Resolution.CHUNK, duration=2.0
    )
    embedding.build()
    _save_checkpoint(model=embedding, path=root / "embedding" / "pytorch_model.bin")

    plda_dir = root / "plda"
    plda_dir.mkdir(parents=True, exist_ok=True)
    np.savez(
        plda_dir / "xvec_transform.npz",
        mean1=rng.normal(size=EMBEDDING_DIM),
        mean2=rng.normal(size=LDA_DIM) * 0.1,
        lda=rng.normal(size=(EMBEDDING_DIM, LDA_DIM)),
    )
    rotation, _ = np.linalg.qr(rng.normal(size=(LDA_DIM, LDA_DIM)))
    np.savez(
        plda_dir / "plda.npz",
        mu=rng.normal(size=LDA_DIM) * 0.1,
        tr=rotation,
        psi=np.sort(rng.uniform(0.5, 5.0, size=LDA_DIM))[::-1],
    )

    config = {
        "dependencies": {"pyannote.audio": "4.0.0"},
        "pipeline": {
            "name": "pyannote.audio.pipelines.SpeakerDiarization",
            "params": {
                "clustering": "VBxClustering",
                "embedding": "$model/embedding",
                "embedding_batch_size": 8,
                "embedding_exclude_overlap": True,
                "segmentation": "$model/segmentation",
                "segmentation_batch_size": 8,
                "plda": "$model/plda",
            },
        },
        "params": {
            "clustering": {"threshold": 0.6, "Fa": 0.07, "Fb": 0.8},
            "segmentation": {"min_duration_off": 0.0},
        },
    }
    (root / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return root
