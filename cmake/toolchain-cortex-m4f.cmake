# CMake toolchain file: Cortex-M4F (ARMv7E-M, single-precision FPU, hard-float
# ABI), e.g. STM32F4 at 168 MHz; QEMU's mps2-an386 board emulates one.
#   cmake --preset cortex-m4f && cmake --build --preset cortex-m4f
# builds build/cortex-m4f/lib/libcausalgen.a (-fno-exceptions -fno-rtti).
set(CAUSALGEN_ARM_CPU_FLAGS "-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16")
include(${CMAKE_CURRENT_LIST_DIR}/toolchain-arm-none-eabi.cmake)
