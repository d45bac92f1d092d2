"""causalgen from Python: the C API of libcausalgen_c.so through ctypes.

    import causalgen
    m = causalgen.Model.load("examples/models/tiny-shakespeare-max-avg.cgm")
    print(m.generate("ROMEO:", 200, temperature=0.8, seed=1337))
    for ch in m.stream("ROMEO:", 200): print(ch, end="", flush=True)
    m.logits("ROMEO:")   # numpy float32, one row per character
    m.eval(text)         # mean loss, as `causalgen eval`
"""
from ._lib import LIBRARY_PATH
from .model import Error, Model

__version__ = "0.1.0"
__all__ = ["Error", "Model", "LIBRARY_PATH", "__version__"]
