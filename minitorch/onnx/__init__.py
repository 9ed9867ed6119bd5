"""``minitorch.onnx``: write traced graphs as ONNX files, and run ONNX files on minitorch.

``export(model, args, f, input_names=, output_names=, dynamic_axes=, opset_version=17)``
traces the model and writes each primitive (or a recognised pattern: linear, conv2d,
batch_norm, layer_norm, gelu, embedding, nn.LSTM) as ONNX operators, checked with
``onnx.checker.check_model(full_check=True)``.  ``load(path)`` reads an ONNX file (ours, or
one written by ``torch.onnx.export``) into an ``OnnxModel`` that runs through minitorch ops
on any device; ``make_dot(model)`` draws an ONNX graph.  See docs/onnx.md.  Needs
``pip install 'minitorch[onnx]'``; the rest of
minitorch never imports onnx.
"""
from .errors import OnnxExporterError, UnsupportedOperatorError  # noqa: F401
from .export import PATTERNS, PRIMITIVES, export  # noqa: F401
from .load import OPS, OnnxModel, load  # noqa: F401
from .draw import make_dot  # noqa: F401

__all__ = ["export", "load", "OnnxModel", "OnnxExporterError", "UnsupportedOperatorError",
           "PRIMITIVES", "PATTERNS", "OPS", "make_dot"]
