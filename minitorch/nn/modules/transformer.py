"""``minitorch.nn.modules.transformer``: the path PyTorch code imports; re-exports the real classes (no copies)."""
from ..transformer import TransformerEncoderLayer, TransformerDecoderLayer, TransformerEncoder, TransformerDecoder, Transformer  # noqa: F401

__all__ = ['TransformerEncoderLayer', 'TransformerDecoderLayer', 'TransformerEncoder', 'TransformerDecoder', 'Transformer']
