"""Sequential recommendation: RecBole atomic-file data, CL4SRec augmentations and the SASRec encoder.

``data`` reads any RecBole dataset folder (ml-100k from the ``recbole`` wheel by default) into
chronological user sequences with RecBole's leave-one-out split; ``augment`` holds CL4SRec's batched
crop / mask / reorder; ``encoders`` the SASRec transformer. Full-ranking metrics live in
:func:`contrastkit.evaluate.ranking_metrics`.
"""

from contrastkit.seqrec.augment import CL4SRecAugment, crop, mask, reorder
from contrastkit.seqrec.data import (
    AtomicDataset,
    SeqRecData,
    build_sequences,
    k_core,
    load_atomic,
    load_seqrec,
    read_atomic,
    recbole_dataset_dir,
)
from contrastkit.seqrec.encoders import SASRec

__all__ = ["AtomicDataset", "CL4SRecAugment", "SASRec", "SeqRecData", "build_sequences", "crop", "k_core",
           "load_atomic", "load_seqrec", "mask", "read_atomic", "recbole_dataset_dir", "reorder"]
