"""``minitorch.jit``: static graphs (see docs/design.md, "The compiler half").

The home of tracing (``jit.trace``), the graph IR, guards, the IR passes (DCE, CSE, constant
folding), the interpreter and serialization.  It depends on the backend contract and the
one dispatch point (``autograd.function``) only; ``minitorch.compiler`` builds on it, never
the other way round.
"""
