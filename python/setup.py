"""Copies the C API's shared library (libcausalgen_c.so, the `causalgen_c` CMake
target) into the package, so that the installed package needs no build tree:
$CAUSALGEN_LIBRARY if set, else the checkout's build/release/lib, else the
first build/*/lib that has one."""
import glob
import os
import shutil

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py

NAME = "libcausalgen_c.so"
HERE = os.path.dirname(os.path.abspath(__file__))


def built_library():
    if os.environ.get("CAUSALGEN_LIBRARY"):
        return os.environ["CAUSALGEN_LIBRARY"]
    repo = os.path.dirname(HERE)
    for path in [os.path.join(repo, "build", "release", "lib", NAME)] + sorted(
            glob.glob(os.path.join(repo, "build", "*", "lib", NAME))):
        if os.path.exists(path):
            return path
    raise SystemExit(f"causalgen: error: no {NAME} to package: build it first "
                     "(cmake --preset release && cmake --build --preset release --target causalgen_c) "
                     "or set CAUSALGEN_LIBRARY to its path")


class BuildWithLibrary(build_py):
    def run(self):
        super().run()
        source = built_library()
        if not os.path.isfile(source):
            raise SystemExit(f"causalgen: error: CAUSALGEN_LIBRARY={source}: no such file")
        shutil.copyfile(source, os.path.join(self.build_lib, "causalgen", NAME))


class PlatformDistribution(Distribution):
    """The wheel holds a native library: tag it for this platform."""

    def has_ext_modules(self):
        return True


setup(cmdclass={"build_py": BuildWithLibrary}, distclass=PlatformDistribution)
