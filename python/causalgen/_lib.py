"""The C API (lib/include/causalgen/causalgen.h) through ctypes: finding
libcausalgen_c.so and declaring the functions the package calls."""
import ctypes
import ctypes.util
import glob
import os

LIBRARY_NAME = "libcausalgen_c.so"
ENV_LIBRARY = "CAUSALGEN_LIBRARY"

CG_OK = 0
CG_GENERATE_END = -1
CG_GENERATE_ERROR = -2


class cg_error(ctypes.Structure):
    _fields_ = [("code", ctypes.c_int32), ("message", ctypes.c_char * 192)]


class cg_sampler(ctypes.Structure):
    _fields_ = [("temperature", ctypes.c_float), ("top_k", ctypes.c_uint32),
                ("top_p", ctypes.c_float)]


class cg_generator(ctypes.Structure):
    _fields_ = [("state", ctypes.c_void_p), ("sampler", cg_sampler),
                ("tokens", ctypes.c_uint32), ("generated", ctypes.c_uint32),
                ("prompt_chars", ctypes.c_uint32), ("last_token", ctypes.c_uint32)]


_p = ctypes.c_void_p
_u32, _i32, _u64, _size = ctypes.c_uint32, ctypes.c_int32, ctypes.c_uint64, ctypes.c_size_t
_err = ctypes.POINTER(cg_error)
_sampler = ctypes.POINTER(cg_sampler)
_gen = ctypes.POINTER(cg_generator)

# name: (return type, argument types), as declared in causalgen.h.
PROTOTYPES = {
    "cg_status_string": (ctypes.c_char_p, [_i32]),
    "cg_model_bytes": (_size, []),
    "cg_model_load": (_p, [_p, _size, _p, _size, _err]),
    "cg_vocab_size": (_u32, [_p]),
    "cg_vocab_codepoint": (_u32, [_p, _u32]),
    "cg_block_size": (_u32, [_p]),
    "cg_n_layer": (_u32, [_p]),
    "cg_n_embd": (_u32, [_p]),
    "cg_n_head": (_u32, [_p]),
    "cg_parameter_count": (_u64, [_p]),
    "cg_has_bias": (_i32, [_p]),
    "cg_has_pos_emb": (_i32, [_p]),
    "cg_window_limited": (_i32, [_p]),
    "cg_mixer_name": (ctypes.c_char_p, [_p, _u32]),
    "cg_state_bytes": (_size, [_p]),
    "cg_state_init": (_p, [_p, _p, _size, _u64, _err]),
    "cg_state_reset": (None, [_p]),
    "cg_feed_token": (_i32, [_p, _u32, _err]),
    "cg_encode_text": (_i32, [_p, ctypes.c_char_p, _size, ctypes.POINTER(_u32), _size,
                              ctypes.POINTER(_size), _err]),
    "cg_logits": (ctypes.POINTER(ctypes.c_float), [_p]),
    "cg_sampler_check": (_i32, [_sampler, _err]),
    "cg_generate_begin": (_i32, [_gen, _p, _sampler, ctypes.c_char_p, _size, _u32, _err]),
    "cg_generate_next": (_i32, [_gen, _err]),
}


def _candidates():
    """Where the library may be, in order: $CAUSALGEN_LIBRARY, this package's
    folder (an installed copy), the build trees of the checkout this package
    sits in (build/release first), then the system's library path."""
    env = os.environ.get(ENV_LIBRARY)
    if env:
        return [env]  # asked for explicitly: no fallback that would hide a wrong path
    here = os.path.dirname(os.path.abspath(__file__))
    found = [os.path.join(here, LIBRARY_NAME)]
    repo = os.path.dirname(os.path.dirname(here))
    found.append(os.path.join(repo, "build", "release", "lib", LIBRARY_NAME))
    found += sorted(glob.glob(os.path.join(repo, "build", "*", "lib", LIBRARY_NAME)))
    system = ctypes.util.find_library("causalgen_c")
    if system:
        found.append(system)
    return found


def _declare(lib):
    for name, (restype, argtypes) in PROTOTYPES.items():
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = restype, argtypes
    return lib


def load_library():
    tried = []
    for path in _candidates():
        if os.path.sep in path and not os.path.exists(path):
            tried.append(path)
            continue
        try:
            return path, _declare(ctypes.CDLL(path))
        except OSError as e:
            tried.append(f"{path} ({e})")
    raise ImportError(
        f"causalgen: cannot find {LIBRARY_NAME} (tried: {', '.join(tried)}); build it "
        f"(cmake --build --preset release --target causalgen_c) or set ${ENV_LIBRARY} to its path")


LIBRARY_PATH, lib = load_library()
