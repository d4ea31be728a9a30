"""Text modality: a sentence encoder (packaged all-MiniLM-L6-v2 or any local sentence-transformers /
transformers folder, mean pooling), offline corpora, batched text augmentations, an embedding cache, and
sentence-transformers interop (saving a folder ``SentenceTransformer`` loads; contrastkit losses as
sentence-transformers training losses).

::

    from contrastkit.text import TextEncoder, corpora
    enc = TextEncoder.from_pretrained()            # the packaged MiniLM, offline
    docs, human = corpora.lee_corpus()
    emb = enc.encode(docs)                          # (50, 384), L2-normalised
"""

from contrastkit.text import augment, corpora, dialogue
from contrastkit.text.cache import cached_encode
from contrastkit.text.encoder import TextEncoder, minilm_path, save_sentence_transformer
from contrastkit.text.interop import SentenceTransformerLoss, mnrl

__all__ = ["SentenceTransformerLoss", "TextEncoder", "augment", "cached_encode", "corpora", "dialogue", "minilm_path",
           "mnrl", "save_sentence_transformer"]
