# Shared part of the arm-none-eabi (Cortex-M) toolchain files. Included by
# toolchain-cortex-m4f.cmake and toolchain-cortex-m3.cmake after they set
# CAUSALGEN_ARM_CPU_FLAGS. Cross-compiles with GCC arm-none-eabi (Debian:
# gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib).
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)

set(CMAKE_C_COMPILER arm-none-eabi-gcc)
set(CMAKE_CXX_COMPILER arm-none-eabi-g++)
set(CMAKE_ASM_COMPILER arm-none-eabi-gcc)
set(CMAKE_AR arm-none-eabi-ar CACHE FILEPATH "")
set(CMAKE_RANLIB arm-none-eabi-ranlib CACHE FILEPATH "")
set(CMAKE_SIZE arm-none-eabi-size CACHE FILEPATH "")
set(CMAKE_OBJCOPY arm-none-eabi-objcopy CACHE FILEPATH "")

# No OS to run test executables: try_compile builds a static library instead.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

# Only the dependency-free core builds for a microcontroller.
set(CAUSALGEN_CORE_ONLY ON CACHE BOOL "Build only the dependency-free core library" FORCE)
set(CAUSALGEN_BUILD_TESTS OFF CACHE BOOL "Build the Catch2 tests" FORCE)

# Every object in its own section so that --gc-sections drops what the
# firmware never calls. The core itself adds -fno-exceptions -fno-rtti
# -ffp-contract=off; they are repeated here for code that includes its headers.
# -Wno-format: arm-none-eabi's uint32_t is `unsigned long` (32 bits, the same
# argument passing as `unsigned int`), so the core's "%u" messages warn here only.
set(_cg_common "${CAUSALGEN_ARM_CPU_FLAGS} -ffunction-sections -fdata-sections -Wno-format")
set(CMAKE_C_FLAGS_INIT "${_cg_common}")
set(CMAKE_CXX_FLAGS_INIT "${_cg_common} -fno-exceptions -fno-rtti -fno-threadsafe-statics -fno-use-cxa-atexit")
set(CMAKE_ASM_FLAGS_INIT "${_cg_common}")
set(CMAKE_EXE_LINKER_FLAGS_INIT "${CAUSALGEN_ARM_CPU_FLAGS} --specs=nano.specs -Wl,--gc-sections")

# Search the cross sysroot for libraries and headers, the host for programs.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
