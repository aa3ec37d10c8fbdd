"""``mg.compile``: record a training step once, then replay it without the engine's bookkeeping.

``compiled.py`` is the front end (signatures, the cache, falling back to eager), ``recorder.py``
turns one eager call into a program, ``program.py`` holds and replays it. The package depends
on the engine; the engine knows it only as one hook (``autograd._recorder``).
"""

from .compiled import CompiledFunction, CompileWarning, compile

__all__ = ["compile", "CompiledFunction", "CompileWarning"]
