# CMake toolchain file: Cortex-M3 (ARMv7-M, no FPU: soft-float f32, no DSP
# instructions); QEMU's mps2-an385 board emulates one.
#   cmake --preset cortex-m3 && cmake --build --preset cortex-m3
# builds build/cortex-m3/lib/libcausalgen.a (-fno-exceptions -fno-rtti).
set(CAUSALGEN_ARM_CPU_FLAGS "-mcpu=cortex-m3 -mthumb -mfloat-abi=soft")
include(${CMAKE_CURRENT_LIST_DIR}/toolchain-arm-none-eabi.cmake)
