"""The exceptions of ``minitorch.onnx`` (``torch.onnx.errors`` has the same two)."""
from __future__ import annotations

__all__ = ["OnnxExporterError", "UnsupportedOperatorError"]


class OnnxExporterError(RuntimeError):
    """Export failed: the model cannot be written as a valid ONNX file (nothing was written)."""


class UnsupportedOperatorError(OnnxExporterError):
    """A minitorch primitive (export) or an ONNX operator (import) has no mapping."""
