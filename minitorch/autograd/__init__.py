"""Autograd: graph recording (function.py), the backward engine (engine.py), grad modes,
anomaly detection and gradient checking."""
from .function import Function, BackwardNode, FunctionCtx, once_differentiable  # noqa: F401
from .engine import backward, grad  # noqa: F401
from .grad_mode import no_grad, enable_grad, set_grad_enabled, inference_mode, is_grad_enabled  # noqa: F401
from .anomaly import detect_anomaly, set_detect_anomaly, is_anomaly_enabled  # noqa: F401
from .gradcheck import gradcheck, gradgradcheck, GradcheckError  # noqa: F401

from . import function  # noqa: F401
from .variable import Variable  # noqa: F401
